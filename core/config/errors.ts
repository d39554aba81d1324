// ConfigError: every problem with its field path, so an operator can fix all of them at once.
import type { z } from "zod";

export interface ConfigIssue {
  /** Dotted field path, e.g. `api.tcp.listen`. */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(readonly issues: ConfigIssue[], context = "Invalid config") {
    super(`${context}: ${issues.map((i) => `${i.path || "(root)"}: ${i.message}`).join("; ")}`);
  }
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let v = input;
  for (const key of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ?? "undefined";
}

/** Turns zod issues into ConfigIssues with the offending value quoted. */
export function toConfigIssues(
  error: z.ZodError,
  input: unknown,
  prefix: string[] = [],
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...issue.path.map(String)];
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        out.push({ path: [...path, key].join("."), message: "unknown field" });
      }
      continue;
    }
    const value = valueAt(input, issue.path);
    let message = issue.message;
    if (issue.code === "invalid_type") {
      message = value === undefined
        ? `is required (${issue.expected})`
        : `expected ${issue.expected}, got ${show(value)}`;
    } else if (issue.code === "invalid_value") {
      message = `${show(value)} is not one of ${
        issue.values.map((v) => JSON.stringify(v)).join(", ")
      }`;
    } else if (value !== undefined && typeof value !== "object") {
      message = `${show(value)} ${message}`;
    }
    out.push({ path: path.join("."), message });
  }
  return out;
}
