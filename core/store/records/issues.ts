// Problems with a stored record in the convention of every manifest and API body hypha accepts
// (core/policy/parse/issues.ts): a field path from the record's root (`podCIDRs[0]`,
// `labels["app.kubernetes.io/name"]`; "" is the record itself) and a sentence-case message that
// quotes the offending value: `Must be a list, got the string "10.244.1.0/24"`. Record shapes
// are zod schemas (shapes.ts); this turns zod's issues into that form.
import type { z } from "zod";
import { child, item, oneOf, quote } from "../../policy/parse/issues.ts";
import { shown } from "../../policy/parse/read.ts";
import type { RecordIssue } from "../../state/mod.ts";

export { child, item, quote, shown };

/** The value at a zod path of the input, or undefined when the path leads nowhere. */
function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const key of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[key as string];
  }
  return v;
}

function pathText(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) out = typeof key === "number" ? item(out, key) : child(out, String(key));
  return out;
}

const EXPECTED: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
  array: "a list",
  object: "an object",
  record: "an object",
};

const capitalized = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function sizeOf(v: unknown): number | undefined {
  if (typeof v === "string" || Array.isArray(v)) return v.length;
  return undefined;
}

/** One zod issue in the record convention. */
function message(issue: z.core.$ZodIssue, value: unknown): string {
  switch (issue.code) {
    case "invalid_type": {
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      if (value === undefined) {
        const last = issue.path.at(-1);
        return typeof last === "string"
          ? `Field ${quote(last)} is required`
          : `Must be ${expected}, got nothing`;
      }
      return `Must be ${expected}, got ${shown(value)}`;
    }
    case "too_big": {
      const n = sizeOf(value);
      if (issue.origin === "string") {
        return `Must be at most ${issue.maximum} characters long, got ${n}`;
      }
      if (issue.origin === "array") return `Must have at most ${issue.maximum} entries, got ${n}`;
      return `Must be at most ${issue.maximum}, got ${shown(value)}`;
    }
    case "too_small": {
      const n = sizeOf(value);
      if (issue.origin === "string") {
        return `Must be at least ${issue.minimum} characters long, got ${n}`;
      }
      if (issue.origin === "array") return `Must have at least ${issue.minimum} entries, got ${n}`;
      return `Must be at least ${issue.minimum}, got ${shown(value)}`;
    }
    case "invalid_value":
      return `Must be ${oneOf(issue.values.map(String))}, got ${shown(value)}`;
    default:
      return capitalized(issue.message);
  }
}

/** zod's issues of `input` as record issues (key problems of a map are reported at the key). */
export function recordIssues(error: z.ZodError, input: unknown): RecordIssue[] {
  const out: RecordIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === "invalid_key") {
      const inner = issue.issues.map((i) => message(i, undefined));
      out.push({ path: pathText(issue.path), message: capitalized(inner.join("; ")) });
      continue;
    }
    out.push({ path: pathText(issue.path), message: message(issue, valueAt(input, issue.path)) });
  }
  return out;
}
