// Typed readers for untrusted YAML values that fail with the case file and the field path, so a
// case author sees `cases/x.yaml: pods["x/a"].node: must be ...` instead of a stack trace.

/** A problem in a case file, at a field path like `steps[1].expect["80/TCP"]`. */
export class CaseError extends Error {
  override name = "CaseError";
  constructor(readonly file: string, readonly field: string, readonly detail: string) {
    super(`${file}: ${field || "(root)"}: ${detail}`);
  }
}

/** `base.key` for identifier-like keys, `base["key"]` otherwise, `base[i]` for indexes. */
export function at(base: string, key: string | number): string {
  if (typeof key === "number") return `${base}[${key}]`;
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return base ? `${base}.${key}` : key;
  return `${base}[${JSON.stringify(key)}]`;
}

export function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export class Fields {
  constructor(readonly file: string) {}

  fail(field: string, detail: string): never {
    throw new CaseError(this.file, field, detail);
  }

  record(value: unknown, field: string): Record<string, unknown> {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      this.fail(field, `must be a mapping, got ${show(value)}`);
    }
    return value as Record<string, unknown>;
  }

  /** A mapping with no keys but `allowed` (typos would otherwise be silently ignored). */
  only(value: unknown, field: string, allowed: readonly string[]): Record<string, unknown> {
    const obj = this.record(value, field);
    for (const key of Object.keys(obj)) {
      if (!allowed.includes(key)) {
        this.fail(at(field, key), `unknown field (expected one of: ${allowed.join(", ")})`);
      }
    }
    return obj;
  }

  list(value: unknown, field: string): unknown[] {
    if (!Array.isArray(value)) this.fail(field, `must be a list, got ${show(value)}`);
    return value;
  }

  string(value: unknown, field: string): string {
    if (typeof value !== "string" || value === "") {
      this.fail(field, `must be a non-empty string, got ${show(value)}`);
    }
    return value;
  }

  int(value: unknown, field: string, min: number, max: number): number {
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      this.fail(field, `must be an integer from ${min} to ${max}, got ${show(value)}`);
    }
    return value;
  }

  dnsLabel(value: string, field: string, what: string): string {
    if (!DNS_LABEL.test(value)) {
      this.fail(field, `${what} "${value}" must be a DNS label (lower case letters, digits, '-')`);
    }
    return value;
  }

  /** Kubernetes labels: string keys and string values (YAML numbers and booleans must be quoted). */
  labels(value: unknown, field: string): Record<string, string> {
    if (value === undefined || value === null) return {};
    const out: Record<string, string> = {};
    for (const [key, v] of Object.entries(this.record(value, field))) {
      if (typeof v !== "string") {
        this.fail(at(field, key), `label values must be strings, got ${show(v)} (quote it)`);
      }
      out[key] = v;
    }
    return out;
  }
}
