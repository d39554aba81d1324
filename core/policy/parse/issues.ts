// Problems are collected, not thrown: a manifest is checked completely so its author sees every
// mistake at once. Each issue names a field path (`spec.ingress[0].from[1].ipBlock.except[0]`) and
// a sentence-case message that quotes the offending value JSON-style, with the reason after a
// colon: `Invalid CIDR "10.0.0.0/33": prefix length must be 0-32 for IPv4`.
import type { PolicyIssue } from "../model.ts";

export class Issues {
  readonly list: PolicyIssue[] = [];

  add(path: string, message: string): void {
    this.list.push({ path, message });
  }

  get count(): number {
    return this.list.length;
  }
}

/**
 * The path of field `key` under `path`: `spec.podSelector`, or `matchLabels["app.kubernetes.io/x"]`
 * when the key is not identifier-like, so label keys with dots and slashes stay unambiguous.
 * The empty path is the document itself.
 */
export function child(path: string, key: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) return path === "" ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

/** The path of list element `index` under `path`: `spec.ingress[0]`. */
export function item(path: string, index: number): string {
  return `${path}[${index}]`;
}

/** A value quoted for a message, with quotes and control characters escaped: `"a\"b"`. */
export function quote(value: unknown): string {
  return JSON.stringify(String(value));
}

/** `"a", "b" or "c"` for messages listing the accepted values. */
export function oneOf(values: readonly string[]): string {
  const q = values.map((v) => JSON.stringify(v));
  return q.length <= 1 ? q.join("") : `${q.slice(0, -1).join(", ")} or ${q[q.length - 1]}`;
}
