// Label selectors for flow filters (`--label`, `--from-label`, `--to-label`), in Kubernetes
// selector syntax as Hubble takes them: requirements separated by commas, all of which must hold:
// `k=v` (or `k==v`), `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`. A key may carry a label
// source (`k8s:app=web`, `reserved:world`); without one (or with `any:`) it matches the key under
// every source, so `app=web` matches the endpoint label `k8s:app=web`.
// Endpoint labels are Cilium's `source:key=value` strings (core/flows/flow.ts FlowEndpoint).

export type LabelOp = "exists" | "absent" | "eq" | "ne" | "in" | "notin";

export interface LabelRequirement {
  /** undefined: any source. */
  source?: string;
  key: string;
  op: LabelOp;
  values: string[];
}

/** Requirements that must all hold. */
export type LabelSelector = LabelRequirement[];

const KEY = String.raw`[A-Za-z0-9_./:-]+`;
const VALUE = String.raw`[A-Za-z0-9_.-]*`;
const NOT_EXISTS = new RegExp(String.raw`^!\s*(${KEY})$`);
const SET = new RegExp(String.raw`^(${KEY})\s+(in|notin)\s*\((.*)\)$`);
const COMPARE = new RegExp(String.raw`^(${KEY})\s*(==|=|!=)\s*(${VALUE})$`);
const EXISTS = new RegExp(String.raw`^(${KEY})$`);
const VALUE_ONLY = new RegExp(String.raw`^${VALUE}$`);

/** Parses a selector; returns why the text is not one. */
export function parseLabelSelector(text: string): LabelSelector | string {
  const parts = splitTopLevel(text);
  if (typeof parts === "string") return parts;
  const out: LabelSelector = [];
  for (const raw of parts) {
    const part = raw.trim();
    if (part === "") return "has an empty requirement (a stray comma?)";
    const req = parseRequirement(part);
    if (typeof req === "string") return req;
    out.push(req);
  }
  return out;
}

function parseRequirement(part: string): LabelRequirement | string {
  let m = NOT_EXISTS.exec(part);
  if (m) return withKey(m[1]!, "absent", []);
  m = SET.exec(part);
  if (m) {
    const values = m[3]!.split(",").map((v) => v.trim());
    const bad = values.find((v) => v === "" || !VALUE_ONLY.test(v));
    if (bad !== undefined) {
      return `"${part}": the values in parentheses must be comma-separated label values`;
    }
    return withKey(m[1]!, m[2] as "in" | "notin", values);
  }
  m = COMPARE.exec(part);
  if (m) return withKey(m[1]!, m[2] === "!=" ? "ne" : "eq", [m[3]!]);
  m = EXISTS.exec(part);
  if (m) return withKey(m[1]!, "exists", []);
  if (/^[=!]/.test(part)) return `"${part}": missing the label key`;
  return `"${part}" is not a label requirement (k=v, k!=v, k, !k, k in (a,b), k notin (a,b))`;
}

function withKey(full: string, op: LabelOp, values: string[]): LabelRequirement | string {
  const colon = full.indexOf(":");
  const source = colon >= 0 ? full.slice(0, colon) : undefined;
  const key = colon >= 0 ? full.slice(colon + 1) : full;
  if (key === "") return `"${full}": missing the label key after the source`;
  if (source === "") return `"${full}": missing the label source before ":"`;
  return source === undefined || source === "any"
    ? { key, op, values }
    : { source, key, op, values };
}

function splitTopLevel(text: string): string[] | string {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "(") depth++;
    else if (c === ")") {
      if (--depth < 0) return 'has a ")" without "("';
    } else if (c === "," && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) return 'has a "(" without ")"';
  parts.push(text.slice(start));
  return parts;
}

/** Whether endpoint labels (`source:key=value`) satisfy every requirement of the selector. */
export function matchesLabels(selector: LabelSelector, labels: readonly string[]): boolean {
  for (const req of selector) {
    let found = false; // a label with the key (and source) whose value is in the set
    let present = false; // a label with the key (and source)
    for (const label of labels) {
      const colon = label.indexOf(":");
      const eq = label.indexOf("=", colon + 1);
      const key = label.slice(colon + 1, eq < 0 ? undefined : eq);
      if (key !== req.key) continue;
      if (req.source !== undefined && label.slice(0, Math.max(colon, 0)) !== req.source) continue;
      present = true;
      if (req.values.length && req.values.includes(eq < 0 ? "" : label.slice(eq + 1))) {
        found = true;
        break;
      }
    }
    const ok = req.op === "exists"
      ? present
      : req.op === "absent"
      ? !present
      : req.op === "eq" || req.op === "in"
      ? found
      : !found; // ne, notin: the key is absent or has another value
    if (!ok) return false;
  }
  return true;
}
