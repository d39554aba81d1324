// Kubernetes networking.k8s.io/v1 NetworkPolicy, with the semantics of the API reference:
// - the subject is spec.podSelector within the policy's namespace;
// - policyTypes, when absent or empty, is Ingress plus Egress if spec.egress is present; a listed
//   type with no rules isolates that direction and allows nothing (default deny);
// - a rule with `from`/`to` absent or empty matches every peer, `ports` absent or empty every port;
// - a peer is podSelector (this namespace), namespaceSelector (all pods of matching namespaces),
//   both (AND), or ipBlock.
import type { Peer, Policy, PolicyRef, PolicyRule, RuleRef, Selector } from "../model.ts";
import { parseCidrField, parseExcept } from "./cidr.ts";
import { child, type Issues, item, quote } from "./issues.ts";
import type { Metadata } from "./metadata.ts";
import { parseK8sPorts } from "./ports.ts";
import { asList, asObject, asString, checkFields, field, type Obj, readSpec } from "./read.ts";
import {
  ANY_NAMESPACE,
  inNamespace,
  NAMESPACE_KEY,
  namespaceKey,
  normalize,
  parseSelector,
  podKey,
} from "./selector.ts";

const POLICY_TYPES = ["Ingress", "Egress"] as const;

export function parseNetworkPolicy(
  obj: Obj,
  meta: Metadata,
  path: string,
  issues: Issues,
): Policy | undefined {
  const before = issues.count;
  const spec = readSpec(obj, path, issues, ["podSelector", "policyTypes", "ingress", "egress"]);
  if (!spec) return undefined;
  const specPath = child(path, "spec");
  const namespace = meta.namespace!;
  const ref: PolicyRef = { kind: "NetworkPolicy", namespace, name: meta.name, spec: 0 };

  // An absent podSelector is the empty selector (the API server's zero value): all pods.
  const podSelV = field(spec, "podSelector") ?? {};
  const podSel = parseSelector(podSelV, child(specPath, "podSelector"), issues, podKey);

  const ingressV = field(spec, "ingress");
  const egressV = field(spec, "egress");
  const types = policyTypes(field(spec, "policyTypes"), egressV !== undefined, specPath, issues);
  const rules: PolicyRule[] = [];
  for (const section of ["ingress", "egress"] as const) {
    const v = section === "ingress" ? ingressV : egressV;
    if (v === undefined) continue;
    const sectionPath = child(specPath, section);
    const list = asList(v, sectionPath, issues) ?? [];
    const type = section === "ingress" ? "Ingress" : "Egress";
    // Kubernetes accepts rules for a direction policyTypes does not list and ignores them:
    // they are validated, then left out.
    const ignored = types !== undefined && !types.includes(type);
    list.forEach((r, index) => {
      const rule = parseRule(r, item(sectionPath, index), issues, { ...ref, section, index });
      if (rule && !ignored) rules.push(rule);
    });
  }
  if (issues.count !== before || !podSel || !types) return undefined;
  return {
    ref,
    subject: normalize([...podSel.requirements, inNamespace(namespace)]),
    isolates: { ingress: types.includes("Ingress"), egress: types.includes("Egress") },
    rules,
    audit: meta.audit,
  };
}

function policyTypes(
  v: unknown,
  hasEgress: boolean,
  specPath: string,
  issues: Issues,
): string[] | undefined {
  const path = child(specPath, "policyTypes");
  const list = v === undefined ? [] : asList(v, path, issues);
  if (!list) return undefined;
  if (list.length === 0) return hasEgress ? ["Ingress", "Egress"] : ["Ingress"];
  const out: string[] = [];
  list.forEach((t, i) => {
    const text = asString(t, item(path, i), issues);
    if (text === undefined) return;
    if (!(POLICY_TYPES as readonly string[]).includes(text)) {
      issues.add(
        item(path, i),
        `Unknown policy type ${quote(text)}: must be "Ingress" or "Egress"`,
      );
    } else if (out.includes(text)) {
      issues.add(item(path, i), `Policy type ${quote(text)} is listed twice`);
    } else out.push(text);
  });
  return out.length === list.length ? out : undefined;
}

function parseRule(v: unknown, path: string, issues: Issues, ref: RuleRef): PolicyRule | undefined {
  const o = asObject(v, path, issues);
  if (!o) return undefined;
  const before = issues.count;
  const peersField = ref.section === "ingress" ? "from" : "to";
  checkFields(o, path, issues, [peersField, "ports"]);
  const peersPath = child(path, peersField);
  const peersV = field(o, peersField);
  const list = peersV === undefined ? [] : asList(peersV, peersPath, issues) ?? [];
  const peers = list.map((p, i) => parsePeer(p, item(peersPath, i), issues, ref.namespace!));
  const portsV = field(o, "ports");
  const l4 = portsV === undefined ? [] : parseK8sPorts(portsV, child(path, "ports"), issues);
  if (issues.count !== before || !l4) return undefined;
  return {
    ref,
    direction: ref.section === "ingress" ? "ingress" : "egress",
    action: "allow",
    peers: peers.length === 0 ? [{ kind: "any" }] : peers as Peer[],
    l4,
    requires: [],
  };
}

function parsePeer(v: unknown, path: string, issues: Issues, namespace: string): Peer | undefined {
  const o = asObject(v, path, issues);
  if (!o) return undefined;
  checkFields(o, path, issues, ["podSelector", "namespaceSelector", "ipBlock"]);
  const podV = field(o, "podSelector");
  const nsV = field(o, "namespaceSelector");
  const ipBlockV = field(o, "ipBlock");
  if (ipBlockV !== undefined) {
    if (podV !== undefined || nsV !== undefined) {
      issues.add(path, "ipBlock cannot be combined with podSelector or namespaceSelector");
      return undefined;
    }
    return parseIpBlock(ipBlockV, child(path, "ipBlock"), issues);
  }
  if (podV === undefined && nsV === undefined) {
    issues.add(path, "Must set podSelector, namespaceSelector or ipBlock");
    return undefined;
  }
  const pod = podV === undefined
    ? { requirements: [] }
    : parseSelector(podV, child(path, "podSelector"), issues, podKey);
  const ns = nsV === undefined
    ? undefined
    : parseSelector(nsV, child(path, "namespaceSelector"), issues, namespaceKey);
  if (!pod || (nsV !== undefined && !ns)) return undefined;
  return { kind: "endpoints", selector: peerSelector(pod, ns, namespace) };
}

/**
 * Without a namespaceSelector the peer is in the policy's namespace. With one, the pod must be in
 * a matching namespace; `k8s:io.kubernetes.pod.namespace Exists` keeps that to pods (an empty
 * namespaceSelector means "all namespaces", not reserved identities such as world or host).
 */
function peerSelector(pod: Selector, ns: Selector | undefined, namespace: string): Selector {
  if (!ns) return normalize([...pod.requirements, inNamespace(namespace)]);
  const reqs = [...pod.requirements, ...ns.requirements];
  const pinned = ns.requirements.some((r) =>
    r.key === NAMESPACE_KEY && (r.operator === "In" || r.operator === "Exists")
  );
  return normalize(pinned ? reqs : [...reqs, ANY_NAMESPACE]);
}

function parseIpBlock(v: unknown, path: string, issues: Issues): Peer | undefined {
  const o = asObject(v, path, issues);
  if (!o) return undefined;
  const before = issues.count;
  checkFields(o, path, issues, ["cidr", "except"]);
  const cidrV = field(o, "cidr");
  const cidrPath = child(path, "cidr");
  if (cidrV === undefined) issues.add(cidrPath, `Field "cidr" is required`);
  const cidr = cidrV === undefined ? undefined : parseCidrField(cidrV, cidrPath, issues);
  const exceptV = field(o, "except");
  const within = cidr && { cidr, written: String(cidrV) };
  const except = exceptV === undefined
    ? []
    : parseExcept(exceptV, child(path, "except"), issues, within, true);
  if (issues.count !== before || !cidr || !except) return undefined;
  return { kind: "cidr", cidr: cidr.toString(), except };
}
