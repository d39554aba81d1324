// Typed reads for the service parsers. The issue collector, paths and strict-object helpers are
// the policy parser's (one convention for every manifest hypha accepts: a path from the document
// root, a sentence-case message quoting the value); the range and enum reads here phrase the
// rule first and the value after: `Must be 1-65535, got 70000`.
import { child, Issues, item, oneOf, quote } from "../policy/parse/issues.ts";
import {
  asBool,
  asList,
  asObject,
  asString,
  checkFields,
  DEFAULT_NAMESPACE,
  field,
  isObject,
  type Obj,
  OBJECT_META_FIELDS,
  readStringMap,
  shown,
} from "../policy/parse/read.ts";

export {
  asBool,
  asList,
  asObject,
  asString,
  checkFields,
  child,
  DEFAULT_NAMESPACE,
  field,
  isObject,
  Issues,
  item,
  type Obj,
  OBJECT_META_FIELDS,
  oneOf,
  quote,
  shown,
};

/** An integer in [min, max]; `hint` says where the range comes from ("services.nodePortRange"). */
export function intIn(
  v: unknown,
  path: string,
  issues: Issues,
  min: number,
  max: number,
  hint = "",
): number | undefined {
  if (typeof v !== "number" || !Number.isInteger(v)) {
    issues.add(path, `Must be an integer, got ${shown(v)}`);
    return undefined;
  }
  if (v < min || v > max) {
    issues.add(path, `Must be ${min}-${max}${hint ? ` (${hint})` : ""}, got ${v}`);
    return undefined;
  }
  return v;
}

/** One of `values`; `fallback` when absent. */
export function enumOf<T extends string>(
  v: unknown,
  path: string,
  issues: Issues,
  values: readonly T[],
  fallback: T,
): T | undefined {
  if (v === undefined) return fallback;
  if (typeof v === "string" && (values as readonly string[]).includes(v)) return v as T;
  issues.add(path, `Must be ${oneOf(values)}, got ${typeof v === "string" ? quote(v) : shown(v)}`);
  return undefined;
}

/** A map of strings (labels, annotations, selectors); non-string values are issues. */
export const stringMap = readStringMap;

/** An optional list: undefined when absent, [] with an issue when not a list. */
export function listOf(v: unknown, path: string, issues: Issues): unknown[] {
  if (v === undefined) return [];
  return asList(v, path, issues) ?? [];
}
