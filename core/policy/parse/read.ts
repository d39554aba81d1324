// Typed reads of decoded YAML/JSON with strict-schema behaviour: a wrong type or an unknown field
// becomes an issue at its path instead of being coerced or ignored. As in the Kubernetes API, a
// field set to `null` counts as absent.
import { child, type Issues, quote } from "./issues.ts";

export type Obj = Record<string, unknown>;

export function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** How a value is named in a type error: `the number 80`, `a list`, `the string "x"`. */
export function shown(v: unknown): string {
  if (v === null || v === undefined) return "nothing";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") {
    return `the string ${quote(v.length > 60 ? `${v.slice(0, 57)}...` : v)}`;
  }
  return `the ${typeof v} ${String(v)}`;
}

/** `o[key]`, with null read as absent. */
export function field(o: Obj, key: string): unknown {
  const v = Object.hasOwn(o, key) ? o[key] : undefined;
  return v === null ? undefined : v;
}

export function asObject(v: unknown, path: string, issues: Issues): Obj | undefined {
  if (isObject(v)) return v;
  issues.add(path, `Must be an object, got ${shown(v)}`);
  return undefined;
}

export function asList(v: unknown, path: string, issues: Issues): unknown[] | undefined {
  if (Array.isArray(v)) return v;
  issues.add(path, `Must be a list, got ${shown(v)}`);
  return undefined;
}

export function asString(v: unknown, path: string, issues: Issues): string | undefined {
  if (typeof v === "string") return v;
  issues.add(path, `Must be a string, got ${shown(v)}`);
  return undefined;
}

export function asBool(v: unknown, path: string, issues: Issues): boolean | undefined {
  if (typeof v === "boolean") return v;
  issues.add(path, `Must be true or false, got ${shown(v)}`);
  return undefined;
}

/** An integer in [min, max]; `what` names it in the range message ("port"). */
export function asInt(
  v: unknown,
  path: string,
  issues: Issues,
  what: string,
  min: number,
  max: number,
): number | undefined {
  if (typeof v !== "number" || !Number.isInteger(v)) {
    issues.add(path, `Must be an integer, got ${shown(v)}`);
    return undefined;
  }
  if (v < min || v > max) {
    issues.add(path, `Invalid ${what} ${v}: must be ${min}-${max}`);
    return undefined;
  }
  return v;
}

/**
 * Reports fields of `o` that are not in `known` ("Unknown field", with a spelling suggestion)
 * and those in `unsupported`, whose value is the reason they are rejected rather than ignored.
 */
export function checkFields(
  o: Obj,
  path: string,
  issues: Issues,
  known: readonly string[],
  unsupported: Readonly<Record<string, string>> = {},
): void {
  for (const key of Object.keys(o)) {
    if (known.includes(key)) continue;
    if (Object.hasOwn(unsupported, key)) {
      if (field(o, key) !== undefined) {
        issues.add(child(path, key), `Unsupported field ${quote(key)}: ${unsupported[key]}`);
      }
      continue;
    }
    const guess = suggest(key, [...known, ...Object.keys(unsupported)]);
    issues.add(
      child(path, key),
      `Unknown field ${quote(key)}${guess ? ` (did you mean ${quote(guess)}?)` : ""}`,
    );
  }
}

/** The closest candidate when it differs by case or by at most two edits, else undefined. */
function suggest(key: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = c.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * A document's required `spec` object with its fields checked against `known` (the document's own
 * top-level fields are checked too); undefined, with the issue recorded, when it is missing or not
 * an object.
 */
export function readSpec(
  obj: Obj,
  path: string,
  issues: Issues,
  known: readonly string[],
): Obj | undefined {
  checkFields(obj, path, issues, ["apiVersion", "kind", "metadata", "spec", "status"]);
  const specPath = child(path, "spec");
  const specV = field(obj, "spec");
  if (specV === undefined) {
    issues.add(specPath, `Field "spec" is required`);
    return undefined;
  }
  const spec = asObject(specV, specPath, issues);
  if (spec) checkFields(spec, specPath, issues, known);
  return spec;
}

/** Namespace of a namespaced manifest without metadata.namespace, as kubectl does. */
export const DEFAULT_NAMESPACE = "default";

/**
 * The ObjectMeta fields a manifest may carry (e.g. from `kubectl get -o yaml`); most are ignored.
 * Every manifest parser hypha has (policies, services) accepts exactly these.
 */
export const OBJECT_META_FIELDS = [
  "name",
  "namespace",
  "labels",
  "annotations",
  "generateName",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "ownerReferences",
  "finalizers",
  "managedFields",
  "selfLink",
];

/** A map of strings (labels, annotations, selectors); a non-string value is an issue. */
export function readStringMap(v: unknown, path: string, issues: Issues): Record<string, string> {
  if (v === undefined) return {};
  const o = asObject(v, path, issues);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(o ?? {})) {
    if (typeof value === "string") out[key] = value;
    else issues.add(child(path, key), `Must be a string, got ${shown(value)}: quote it`);
  }
  return out;
}
