// One element of a Cilium rule's ingress, ingressDeny, egress or egressDeny list, with Cilium's
// peer semantics, which differ from Kubernetes NetworkPolicy:
// - peer fields (endpoints, entities, CIDRs, CIDR sets) are a union;
// - a rule with no peer field but toPorts/icmps applies to every peer ("L4-only" rule);
// - a rule with neither (`{}`) allows nothing: it only puts the subject into default deny, as in
//   Cilium's "deny all egress" example (`egress: [{}]`);
// - an explicitly empty peer list (`fromEndpoints: []`) selects nobody, so the rule allows nothing;
// - fromRequires/toRequires grant nothing themselves; they are recorded in `requires`.
// A rule that allows nothing and requires nothing yields no PolicyRule (null).
import type { Direction, L4, Peer, PolicyRule, RuleRef } from "../model.ts";
import { parseIcmps } from "./icmp.ts";
import { child, type Issues, item } from "./issues.ts";
import { parseToPorts } from "./ports.ts";
import { asList, asObject, checkFields, field, type Obj } from "./read.ts";
import { ciliumKey, parseSelector } from "./selector.ts";
import {
  parseCidrPeer,
  parseCidrSetPeer,
  parseEntity,
  type Scope,
  scopeSelector,
} from "./cilium_peers.ts";
import type { Selector } from "../model.ts";

const PEER_FIELDS = {
  ingress: {
    endpoints: "fromEndpoints",
    requires: "fromRequires",
    cidr: "fromCIDR",
    cidrSet: "fromCIDRSet",
    entities: "fromEntities",
  },
  egress: {
    endpoints: "toEndpoints",
    requires: "toRequires",
    cidr: "toCIDR",
    cidrSet: "toCIDRSet",
    entities: "toEntities",
  },
} as const;

const MUTUAL_AUTH = "mutual authentication is not supported";
const NODES = `node selectors are not supported yet: use the "host" or "remote-node" entity`;
const GROUPS = "cloud provider groups are not supported";

/** Fields Cilium has that hypha rejects (with the reason) rather than silently ignores. */
function unsupportedFields(direction: Direction, deny: boolean): Record<string, string> {
  if (direction === "ingress") {
    return deny
      ? { fromNodes: NODES, fromGroups: GROUPS }
      : { fromNodes: NODES, fromGroups: GROUPS, authentication: MUTUAL_AUTH, auth: MUTUAL_AUTH };
  }
  const common: Record<string, string> = {
    toNodes: NODES,
    toGroups: GROUPS,
    toServices: "service-based policy needs the load-balancing plugin (plugins/lb, issue 5)",
  };
  if (deny) return common;
  return {
    ...common,
    toFQDNs: "DNS-based policy is not supported yet",
    authentication: MUTUAL_AUTH,
    auth: MUTUAL_AUTH,
  };
}

export function parseCiliumRule(
  v: unknown,
  path: string,
  issues: Issues,
  ref: RuleRef,
  scope: Scope,
): PolicyRule | null | undefined {
  const o = asObject(v, path, issues);
  if (!o) return undefined;
  const before = issues.count;
  const direction: Direction = ref.section.startsWith("ingress") ? "ingress" : "egress";
  const deny = ref.section.endsWith("Deny");
  const names = PEER_FIELDS[direction];
  checkFields(
    o,
    path,
    issues,
    [...Object.values(names), "toPorts", "icmps"],
    unsupportedFields(direction, deny),
  );

  const peers: Peer[] = [];
  let hasPeerField = false;
  let emptyPeerList = false;
  const eachOf = (name: string, parse: (x: unknown, at: string) => Peer | undefined) => {
    const list = listField(o, name, path, issues);
    if (!list) return;
    hasPeerField = true;
    if (list.length === 0) emptyPeerList = true;
    list.forEach((x, i) => {
      const peer = parse(x, item(child(path, name), i));
      if (peer) peers.push(peer);
    });
  };
  eachOf(names.endpoints, (x, at) => {
    const sel = parseSelector(x, at, issues, ciliumKey);
    return sel && { kind: "endpoints", selector: scopeSelector(sel, scope, false) };
  });
  eachOf(names.entities, (x, at) => parseEntity(x, at, issues));
  eachOf(names.cidr, (x, at) => parseCidrPeer(x, at, issues));
  eachOf(names.cidrSet, (x, at) => parseCidrSetPeer(x, at, issues));

  const requires: Selector[] = [];
  (listField(o, names.requires, path, issues) ?? []).forEach((x, i) => {
    const sel = parseSelector(x, item(child(path, names.requires), i), issues, ciliumKey);
    if (sel) requires.push(scopeSelector(sel, scope, true));
  });

  const l4: L4[] = [];
  const toPortsV = field(o, "toPorts");
  if (toPortsV !== undefined) {
    l4.push(...parseToPorts(toPortsV, child(path, "toPorts"), issues, deny) ?? []);
  }
  const icmpsV = field(o, "icmps");
  if (icmpsV !== undefined) l4.push(...parseIcmps(icmpsV, child(path, "icmps"), issues) ?? []);
  if (issues.count !== before) return undefined;

  const selected: Peer[] = hasPeerField
    ? (emptyPeerList ? [] : peers)
    : (l4.length > 0 ? [{ kind: "any" }] : []);
  if (selected.length === 0 && requires.length === 0) return null;
  // A rule that selects no peer but carries requirements keeps `peers: []` so the engine still
  // sees the requirements, which Cilium applies to every rule of this direction.
  return { ref, direction, action: deny ? "deny" : "allow", peers: selected, l4, requires };
}

function listField(o: Obj, name: string, path: string, issues: Issues): unknown[] | undefined {
  const v = field(o, name);
  return v === undefined ? undefined : asList(v, child(path, name), issues);
}
