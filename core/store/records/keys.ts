// The names inside a store key (`endpoints/<node>/<id>`, `pods/<namespace>/<name>`): each part
// must follow its rule, so a key can never smuggle a second "/" or an odd name into a table key.
import { nodeNameRule } from "../../config/schema.ts";
import { dnsLabelProblem, subdomainProblem } from "../../policy/parse/names.ts";
import type { RecordIssue } from "../../state/mod.ts";
import { quote } from "./issues.ts";

export type KeyPart = "node" | "endpoint id" | "namespace" | "pod name";

const RULES: Record<KeyPart, (s: string) => string | undefined> = {
  "node": (s) => (nodeNameRule.pattern.test(s) ? undefined : nodeNameRule.message),
  "endpoint id": (s) =>
    /^[1-9][0-9]{0,4}$/.test(s) && Number(s) <= 65535 ? undefined : "must be 1-65535",
  "namespace": dnsLabelProblem,
  "pod name": subdomainProblem,
};

export function splitKey(suffix: string): string[] {
  return suffix.split("/");
}

/** Why the key suffix does not consist of `parts`, or undefined. */
export function keyIssue(suffix: string, parts: readonly KeyPart[]): RecordIssue | undefined {
  const shown = quote(suffix.length > 80 ? `${suffix.slice(0, 77)}...` : suffix);
  const got = splitKey(suffix);
  if (got.length !== parts.length) {
    return { path: "", message: `Key ${shown} must be ${parts.map((p) => `<${p}>`).join("/")}` };
  }
  for (const [i, part] of parts.entries()) {
    const problem = RULES[part](got[i]!);
    if (problem) return { path: "", message: `Key ${shown}: the ${part} ${problem}` };
  }
  return undefined;
}
