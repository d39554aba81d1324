// cilium.io/v2 CiliumNetworkPolicy (namespaced) and CiliumClusterwideNetworkPolicy. A manifest
// carries one rule in `spec` and/or a list in `specs`; each rule becomes its own Policy, numbered
// in document order: `spec` is ref.spec 0 and `specs[i]` is i+1 when `spec` is present, else i.
//
// The subject is endpointSelector; in a CiliumNetworkPolicy it always applies in the policy's
// namespace (Cilium overrides a namespace match written there; hypha reports it instead).
// Default deny follows enableDefaultDeny, which defaults per direction to "this rule has ingress
// (or egress) rules, allow or deny": a rule without ingress sections leaves ingress alone.
import type { Policy, PolicyKind, PolicyRef, PolicyRule, Requirement, RuleRef } from "../model.ts";
import { child, type Issues, item, quote } from "./issues.ts";
import type { KindInfo, Metadata } from "./metadata.ts";
import { asBool, asList, asObject, asString, checkFields, field, type Obj } from "./read.ts";
import {
  ciliumKey,
  hasKey,
  inNamespace,
  NAMESPACE_KEY,
  parseSelector,
  withRequirement,
} from "./selector.ts";
import { parseCiliumRule } from "./cilium_rule.ts";
import type { Scope } from "./cilium_peers.ts";

const SECTIONS = ["ingress", "ingressDeny", "egress", "egressDeny"] as const;
const HOST_POLICIES = "host policies (nodeSelector) are not supported yet";

export function parseCiliumPolicy(
  obj: Obj,
  info: KindInfo,
  meta: Metadata,
  path: string,
  issues: Issues,
): Policy[] | undefined {
  const before = issues.count;
  checkFields(obj, path, issues, ["apiVersion", "kind", "metadata", "spec", "specs", "status"]);
  const specV = field(obj, "spec");
  const specsV = field(obj, "specs");
  const rules: Array<{ v: unknown; path: string }> = [];
  if (specV !== undefined) rules.push({ v: specV, path: child(path, "spec") });
  if (specsV !== undefined) {
    const list = asList(specsV, child(path, "specs"), issues) ?? [];
    list.forEach((v, i) => rules.push({ v, path: item(child(path, "specs"), i) }));
    if (list.length === 0 && specV === undefined) {
      issues.add(child(path, "specs"), "Must list at least one rule");
    }
  } else if (specV === undefined) {
    issues.add(child(path, "spec"), `Field "spec" or "specs" is required`);
  }
  const policies: Policy[] = [];
  rules.forEach((r, index) => {
    // Only the two Cilium policy kinds reach this function.
    const base = { kind: info.kind as PolicyKind, name: meta.name, spec: index };
    const ref: PolicyRef = meta.namespace === undefined
      ? base
      : { ...base, namespace: meta.namespace };
    const policy = parseRule(r.v, r.path, issues, ref, meta.audit);
    if (policy) policies.push(policy);
  });
  return issues.count === before ? policies : undefined;
}

function parseRule(
  v: unknown,
  path: string,
  issues: Issues,
  ref: PolicyRef,
  audit: boolean,
): Policy | undefined {
  const o = asObject(v, path, issues);
  if (!o) return undefined;
  const before = issues.count;
  const clusterwide = ref.namespace === undefined;
  checkFields(
    o,
    path,
    issues,
    ["endpointSelector", ...SECTIONS, "enableDefaultDeny", "description", "labels"],
    {
      nodeSelector: clusterwide
        ? HOST_POLICIES
        : `only a CiliumClusterwideNetworkPolicy may select nodes, and ${HOST_POLICIES}`,
      log: "policy logging is not supported yet",
    },
  );
  const description = field(o, "description");
  if (description !== undefined) asString(description, child(path, "description"), issues);
  checkRuleLabels(field(o, "labels"), child(path, "labels"), issues);

  const esPath = child(path, "endpointSelector");
  const esV = field(o, "endpointSelector");
  if (esV === undefined && field(o, "nodeSelector") === undefined) {
    issues.add(esPath, `Field "endpointSelector" is required`);
  }
  const written = esV === undefined ? undefined : parseSelector(esV, esPath, issues, ciliumKey);
  const subject = written && ref.namespace !== undefined
    ? withRequirement(written, inNamespace(ref.namespace))
    : written;
  if (written && ref.namespace !== undefined) {
    const conflict = written.requirements.find((r) =>
      r.key === NAMESPACE_KEY && !satisfiedBy(r, ref.namespace!)
    );
    if (conflict) {
      issues.add(
        esPath,
        `Selects no endpoints: a CiliumNetworkPolicy's endpointSelector only applies in its own ` +
          `namespace ${quote(ref.namespace)} (use a CiliumClusterwideNetworkPolicy for others)`,
      );
    }
  }
  const scope: Scope = ref.namespace === undefined
    ? { subjectMatchesInit: written !== undefined && hasKey(written, "reserved:init") }
    : { namespace: ref.namespace, subjectMatchesInit: false };

  const counts = { ingress: 0, ingressDeny: 0, egress: 0, egressDeny: 0 };
  const rules: PolicyRule[] = [];
  for (const section of SECTIONS) {
    const sv = field(o, section);
    if (sv === undefined) continue;
    const list = asList(sv, child(path, section), issues) ?? [];
    counts[section] = list.length;
    list.forEach((r, index) => {
      const ruleRef: RuleRef = { ...ref, section, index };
      const rule = parseCiliumRule(r, item(child(path, section), index), issues, ruleRef, scope);
      if (rule) rules.push(rule);
    });
  }
  if (Object.values(counts).every((n) => n === 0)) {
    issues.add(
      path,
      "Rule has no ingress, ingressDeny, egress or egressDeny rules: it would " +
        "have no effect",
    );
  }
  const isolates = defaultDeny(field(o, "enableDefaultDeny"), child(path, "enableDefaultDeny"), {
    ingress: counts.ingress + counts.ingressDeny > 0,
    egress: counts.egress + counts.egressDeny > 0,
  }, issues);
  if (issues.count !== before || !subject || !isolates) return undefined;
  return { ref, subject, isolates, rules, audit };
}

/** Whether an endpoint in `namespace` can satisfy a requirement on the namespace key. */
function satisfiedBy(r: Requirement, namespace: string): boolean {
  switch (r.operator) {
    case "In":
      return r.values.includes(namespace);
    case "NotIn":
      return !r.values.includes(namespace);
    case "Exists":
      return true;
    case "DoesNotExist":
      return false;
  }
}

function defaultDeny(
  v: unknown,
  path: string,
  defaults: { ingress: boolean; egress: boolean },
  issues: Issues,
): { ingress: boolean; egress: boolean } | undefined {
  if (v === undefined) return defaults;
  const o = asObject(v, path, issues);
  if (!o) return undefined;
  const before = issues.count;
  checkFields(o, path, issues, ["ingress", "egress"]);
  const read = (key: "ingress" | "egress") => {
    const x = field(o, key);
    return x === undefined ? defaults[key] : asBool(x, child(path, key), issues);
  };
  const ingress = read("ingress");
  const egress = read("egress");
  if (issues.count !== before || ingress === undefined || egress === undefined) return undefined;
  return { ingress, egress };
}

/** Cilium rule `labels` (metadata to find rules by): `[{key, value?, source?}]`; not used. */
function checkRuleLabels(v: unknown, path: string, issues: Issues): void {
  if (v === undefined) return;
  (asList(v, path, issues) ?? []).forEach((l, i) => {
    const at = item(path, i);
    const o = asObject(l, at, issues);
    if (!o) return;
    checkFields(o, at, issues, ["key", "value", "source"]);
    if (field(o, "key") === undefined) issues.add(child(at, "key"), `Field "key" is required`);
    for (const k of ["key", "value", "source"]) {
      const x = field(o, k);
      if (x !== undefined) asString(x, child(at, k), issues);
    }
  });
}
