// Kubernetes label selectors (matchLabels + matchExpressions) turned into model Selectors whose
// keys are identity label keys. Which prefix a written key gets depends on where the selector
// appears, so the caller passes a KeyMapper: pod selectors map `app` to `k8s:app`, namespace
// selectors map `team` to `k8s:io.cilium.k8s.namespace.labels.team`, Cilium selectors keep an
// explicit source (`reserved:host`) and read "no source" and `any:` as `k8s:`.
import { NAMESPACE_LABEL, NAMESPACE_LABELS_PREFIX } from "../../identity/labels.ts";
import type { Requirement, Selector } from "../model.ts";
import { child, type Issues, item, oneOf, quote } from "./issues.ts";
import { labelKeyProblem, labelValueProblem } from "./names.ts";
import { asList, asObject, asString, checkFields, field, shown } from "./read.ts";

/** The identity label key of a workload's namespace. */
export const NAMESPACE_KEY = `k8s:${NAMESPACE_LABEL}`;
/** The prefix of namespace-label keys in identities. */
export const NAMESPACE_LABELS_KEY_PREFIX = `k8s:${NAMESPACE_LABELS_PREFIX}`;

/** The identity label key a written key stands for, or why it is not a valid key. */
export type KeyMapper = (written: string) => { key: string } | { problem: string };

export const podKey: KeyMapper = (written) => {
  const problem = labelKeyProblem(written);
  return problem ? { problem } : { key: `k8s:${written}` };
};

/**
 * Namespace label keys. `kubernetes.io/metadata.name` is set by the API server on every namespace
 * to the namespace's name, so it maps to the namespace key itself: the usual "select namespace by
 * name" selector then works even when namespace manifests do not spell that label out.
 */
export const namespaceKey: KeyMapper = (written) => {
  const problem = labelKeyProblem(written);
  if (problem) return { problem };
  if (written === "kubernetes.io/metadata.name") return { key: NAMESPACE_KEY };
  return { key: `${NAMESPACE_LABELS_KEY_PREFIX}${written}` };
};

/** Reserved identities a Cilium selector may name as `reserved:<name>`. */
export const RESERVED_LABELS = [
  "host",
  "remote-node",
  "world",
  "world-ipv4",
  "world-ipv6",
  "health",
  "init",
  "unmanaged",
  "kube-apiserver",
  "ingress",
] as const;

export const ciliumKey: KeyMapper = (written) => {
  const colon = written.indexOf(":");
  const source = colon >= 0 ? written.slice(0, colon) : "any";
  const rest = colon >= 0 ? written.slice(colon + 1) : written;
  if (source === "k8s" || source === "any") return podKey(rest);
  if (source === "reserved") {
    if ((RESERVED_LABELS as readonly string[]).includes(rest)) return { key: written };
    return { problem: `unknown reserved label: must be one of ${oneOf(RESERVED_LABELS)}` };
  }
  return {
    problem: `unsupported label source ${quote(source)}: write "k8s:", "reserved:" or no prefix`,
  };
};

const OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist"] as const;

/** Parses a LabelSelector at `path`; undefined (with issues) when any part is invalid. */
export function parseSelector(
  v: unknown,
  path: string,
  issues: Issues,
  mapKey: KeyMapper,
): Selector | undefined {
  const o = asObject(v, path, issues);
  if (!o) return undefined;
  const before = issues.count;
  checkFields(o, path, issues, ["matchLabels", "matchExpressions"]);
  const reqs: Requirement[] = [];

  const labels = field(o, "matchLabels");
  const labelsPath = child(path, "matchLabels");
  const labelMap = labels === undefined ? {} : asObject(labels, labelsPath, issues) ?? {};
  for (const [written, value] of Object.entries(labelMap)) {
    const at = child(labelsPath, written);
    const key = mappedKey(written, at, issues);
    if (typeof value !== "string") {
      issues.add(at, `Label value must be a string, got ${shown(value)}: quote it`);
      continue;
    }
    if (checkValue(value, at, issues) && key) reqs.push({ key, operator: "In", values: [value] });
  }

  const exprs = field(o, "matchExpressions");
  const exprsPath = child(path, "matchExpressions");
  const list = exprs === undefined ? [] : asList(exprs, exprsPath, issues) ?? [];
  list.forEach((e, i) => {
    const req = parseExpression(e, item(exprsPath, i), issues, mapKey);
    if (req) reqs.push(req);
  });
  return issues.count === before ? normalize(reqs) : undefined;

  function mappedKey(written: string, at: string, issues: Issues): string | undefined {
    const mapped = mapKey(written);
    if ("key" in mapped) return mapped.key;
    issues.add(at, `Invalid label key ${quote(written)}: ${mapped.problem}`);
    return undefined;
  }
}

function parseExpression(
  v: unknown,
  path: string,
  issues: Issues,
  mapKey: KeyMapper,
): Requirement | undefined {
  const o = asObject(v, path, issues);
  if (!o) return undefined;
  const before = issues.count;
  checkFields(o, path, issues, ["key", "operator", "values"]);
  const keyV = field(o, "key");
  const opV = field(o, "operator");
  const valuesV = field(o, "values");
  let key: string | undefined;
  if (keyV === undefined) issues.add(child(path, "key"), `Field "key" is required`);
  const written = keyV === undefined ? undefined : asString(keyV, child(path, "key"), issues);
  if (written !== undefined) {
    const mapped = mapKey(written);
    if ("key" in mapped) key = mapped.key;
    else issues.add(child(path, "key"), `Invalid label key ${quote(written)}: ${mapped.problem}`);
  }
  if (opV === undefined) issues.add(child(path, "operator"), `Field "operator" is required`);
  const op = opV === undefined ? undefined : asString(opV, child(path, "operator"), issues);
  if (op !== undefined && !(OPERATORS as readonly string[]).includes(op)) {
    issues.add(
      child(path, "operator"),
      `Unknown operator ${quote(op)}: must be ${oneOf(OPERATORS)}`,
    );
  }
  const valuesPath = child(path, "values");
  const raw = valuesV === undefined ? [] : asList(valuesV, valuesPath, issues) ?? [];
  const values: string[] = [];
  raw.forEach((x, i) => {
    const s = asString(x, item(valuesPath, i), issues);
    if (s !== undefined && checkValue(s, item(valuesPath, i), issues)) values.push(s);
  });
  if ((op === "In" || op === "NotIn") && raw.length === 0) {
    issues.add(valuesPath, `Operator ${quote(op)} needs at least one value`);
  }
  if ((op === "Exists" || op === "DoesNotExist") && raw.length > 0) {
    issues.add(valuesPath, `Values must be empty for operator ${quote(op)}`);
  }
  if (issues.count !== before || key === undefined) return undefined;
  return { key, operator: op as Requirement["operator"], values: [...new Set(values)].sort() };
}

function checkValue(value: string, path: string, issues: Issues): boolean {
  const problem = labelValueProblem(value);
  if (problem) issues.add(path, `Invalid label value ${quote(value)}: ${problem}`);
  return problem === undefined;
}

/** Requirements sorted (key, operator, values) without duplicates, so equal selectors compare equal. */
export function normalize(reqs: readonly Requirement[]): Selector {
  const byText = new Map<string, Requirement>();
  for (const r of reqs) {
    const values = [...new Set(r.values)].sort();
    byText.set(JSON.stringify([r.key, r.operator, values]), { ...r, values });
  }
  const sorted = [...byText.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { requirements: sorted.map(([, r]) => r) };
}

export function withRequirement(sel: Selector, req: Requirement): Selector {
  return normalize([...sel.requirements, req]);
}

export function hasKey(sel: Selector, key: string): boolean {
  return sel.requirements.some((r) => r.key === key);
}

export function hasKeyPrefix(sel: Selector, prefix: string): boolean {
  return sel.requirements.some((r) => r.key.startsWith(prefix));
}

/** `k8s:io.kubernetes.pod.namespace In [namespace]`. */
export function inNamespace(namespace: string): Requirement {
  return { key: NAMESPACE_KEY, operator: "In", values: [namespace] };
}

/** `k8s:io.kubernetes.pod.namespace Exists`: any pod, never a reserved identity or CIDR. */
export const ANY_NAMESPACE: Requirement = { key: NAMESPACE_KEY, operator: "Exists", values: [] };
