// The policy engine: the rules that select an endpoint, turned into the entries of its policy
// map (bpf/lib/policy.h) per direction: (peer identity or wildcard, protocol or any, port
// prefix) -> allow/deny. Pure: the same inputs always give the same entries, in order.
import type { Direction, L4, Policy, PolicyRule, RuleRef, Selector } from "./model.ts";
import { type IdentityView, peerIdentities, WILDCARD } from "./identities.ts";
import { type PortPrefix, portRangePrefixes, prefixContains } from "./port_prefixes.ts";
import { matches } from "./selector.ts";

export const IPPROTO = { ANY: 0, ICMP: 1, TCP: 6, UDP: 17, ICMPv6: 58, SCTP: 132 } as const;

export type NamedPorts = Readonly<Record<string, { port: number; protocol: string }>>;

export type EnforcementMode = "default" | "always" | "never";

export interface PolicyInputs {
  policies: readonly Policy[];
  identities: readonly IdentityView[];
  cidrGroups: ReadonlyMap<string, readonly string[]>;
  /** Named container ports of the workloads that have `identity` (for egress named ports). */
  namedPorts(identity: number): readonly NamedPorts[];
  enforcement: EnforcementMode;
  /** Node-wide audit mode: verdicts are counted, never enforced. */
  audit: boolean;
  /**
   * Peer identities per rule, shared by every endpoint computed with these inputs (a rule's
   * peers select the same identities whoever the subject is). Pass a fresh map per snapshot.
   */
  peerCache?: WeakMap<PolicyRule, Set<number>>;
}

export interface EndpointSubject {
  identity: number;
  /** Identity labels of the endpoint. */
  labels: Readonly<Record<string, string>>;
  namedPorts: NamedPorts;
}

export interface PolicyEntry {
  /** Peer identity; 0 = every identity. */
  identity: number;
  /** IPPROTO_*; 0 = every protocol (then port and bits are 0). */
  protocol: number;
  /** Destination port (ICMP: type << 8) and how many of its 16 bits must match. */
  port: number;
  bits: number;
  deny: boolean;
  /** From an audit-mode policy: a deny is reported, not enforced. */
  audit: boolean;
  rule: RuleRef;
}

export interface DirectionPolicy {
  enforced: boolean;
  /** Default deny is reported, not enforced. */
  audit: boolean;
  entries: PolicyEntry[];
}

export interface EndpointPolicy {
  ingress: DirectionPolicy;
  egress: DirectionPolicy;
  /** The policies that select the endpoint. */
  selectedBy: Policy["ref"][];
}

interface L4Match {
  protocol: number;
  prefix: PortPrefix;
}

const ALL_L4: L4Match = { protocol: IPPROTO.ANY, prefix: { port: 0, bits: 0 } };

function protocolNumbers(protocol: string, port: number): number[] {
  if (protocol === "ANY") return port ? [IPPROTO.TCP, IPPROTO.UDP, IPPROTO.SCTP] : [IPPROTO.ANY];
  return [IPPROTO[protocol as keyof typeof IPPROTO] ?? IPPROTO.TCP];
}

function portMatches(protocol: number, from: number, to: number): L4Match[] {
  if (from === 0) return [{ protocol, prefix: { port: 0, bits: 0 } }];
  return portRangePrefixes(from, to).map((prefix) => ({ protocol, prefix }));
}

/** The protocol/port matches of one L4 condition; named ports resolve against `ports`. */
function l4Matches(l4: L4, ports: readonly NamedPorts[]): L4Match[] {
  switch (l4.kind) {
    case "port":
      return protocolNumbers(l4.protocol, l4.port).flatMap((p) =>
        p === IPPROTO.ANY ? [ALL_L4] : portMatches(p, l4.port, l4.endPort ?? l4.port)
      );
    case "named": {
      const out: L4Match[] = [];
      for (const set of ports) {
        const np = set[l4.name];
        if (!np || (l4.protocol !== "ANY" && np.protocol !== l4.protocol)) continue;
        for (const p of protocolNumbers(np.protocol, np.port)) {
          out.push(...portMatches(p, np.port, np.port));
        }
      }
      return out;
    }
    case "icmp":
      return [{
        protocol: l4.family === 4 ? IPPROTO.ICMP : IPPROTO.ICMPv6,
        prefix: { port: l4.type << 8, bits: 8 },
      }];
  }
}

const entryKey = (e: Pick<PolicyEntry, "identity" | "protocol" | "port" | "bits">) =>
  `${e.identity}/${e.protocol}/${e.port}/${e.bits}`;

function covers(deny: PolicyEntry, allow: PolicyEntry): boolean {
  if (deny.identity !== allow.identity) return false;
  if (deny.protocol === IPPROTO.ANY) return true;
  return deny.protocol === allow.protocol &&
    prefixContains({ port: deny.port, bits: deny.bits }, { port: allow.port, bits: allow.bits });
}

/**
 * Merges duplicates (a deny wins; an enforced deny wins over an audit one) and drops the allows
 * that a deny of the same identity covers, so the map's longest match never lets an allow
 * shadow a broader deny.
 */
function resolve(entries: PolicyEntry[]): PolicyEntry[] {
  const merged = new Map<string, PolicyEntry>();
  for (const e of entries) {
    const k = entryKey(e);
    const cur = merged.get(k);
    if (!cur || (e.deny && (!cur.deny || (cur.audit && !e.audit)))) merged.set(k, e);
  }
  const all = [...merged.values()];
  const denies = new Map<number, PolicyEntry[]>();
  for (const e of all) {
    if (e.deny) denies.set(e.identity, [...denies.get(e.identity) ?? [], e]);
  }
  return all.filter((e) => e.deny || !denies.get(e.identity)?.some((d) => covers(d, e))).sort((
    a,
    b,
  ) =>
    a.identity - b.identity || a.protocol - b.protocol || a.port - b.port || a.bits - b.bits ||
    Number(a.deny) - Number(b.deny)
  );
}

function peersOf(rule: PolicyRule, requires: Selector[], inputs: PolicyInputs): Set<number> {
  if (requires.length || !inputs.peerCache) {
    return peerIdentities(rule.peers, requires, inputs.identities, inputs.cidrGroups);
  }
  let ids = inputs.peerCache.get(rule);
  if (!ids) {
    ids = peerIdentities(rule.peers, [], inputs.identities, inputs.cidrGroups);
    inputs.peerCache.set(rule, ids);
  }
  return ids;
}

function direction(
  dir: Direction,
  subject: EndpointSubject,
  selecting: readonly Policy[],
  inputs: PolicyInputs,
): DirectionPolicy {
  const isolating = selecting.filter((p) => p.isolates[dir]);
  const enforced = inputs.enforcement === "always" ||
    (inputs.enforcement === "default" && isolating.length > 0);
  const rules = selecting.flatMap((p) =>
    p.rules.filter((r) => r.direction === dir).map((rule) => ({ rule, audit: p.audit }))
  );
  // Cilium: requirements of any rule apply to every rule of that direction.
  const requires = rules.flatMap(({ rule }) => rule.requires);
  const entries: PolicyEntry[] = [];
  for (const { rule, audit } of rules) {
    const ids = peersOf(rule, requires, inputs);
    for (const identity of ids) {
      // A named port is the destination's: the endpoint itself for ingress, the peer for egress.
      const ports = dir === "ingress"
        ? [subject.namedPorts]
        : identity === WILDCARD
        ? inputs.identities.flatMap((i) => inputs.namedPorts(i.id))
        : inputs.namedPorts(identity);
      const matchesL4 = rule.l4.length ? rule.l4.flatMap((l) => l4Matches(l, ports)) : [ALL_L4];
      for (const m of matchesL4) {
        entries.push({
          identity,
          protocol: m.protocol,
          port: m.prefix.port,
          bits: m.prefix.bits,
          deny: rule.action === "deny",
          audit,
          rule: rule.ref,
        });
      }
    }
  }
  // Deny rules for a direction no policy isolates (Cilium: enableDefaultDeny false) still need
  // the lookups; everything they do not deny stays allowed through one wildcard allow.
  const denies = rules.filter(({ rule }) => rule.action === "deny");
  if (!enforced && denies.length && inputs.enforcement === "default") {
    entries.push({
      identity: WILDCARD,
      protocol: IPPROTO.ANY,
      port: 0,
      bits: 0,
      deny: false,
      audit: false,
      rule: { ...denies[0]!.rule.ref, index: -1 },
    });
    return { enforced: true, audit: inputs.audit, entries: resolve(entries) };
  }
  return {
    enforced,
    audit: enforced && (inputs.audit || (isolating.length > 0 && isolating.every((p) => p.audit))),
    entries: resolve(entries),
  };
}

export function computeEndpointPolicy(
  subject: EndpointSubject,
  inputs: PolicyInputs,
): EndpointPolicy {
  if (inputs.enforcement === "never") {
    const open = { enforced: false, audit: false, entries: [] };
    return { ingress: open, egress: { ...open }, selectedBy: [] };
  }
  const selecting = inputs.policies.filter((p) => matches(p.subject, subject.labels));
  return {
    ingress: direction("ingress", subject, selecting, inputs),
    egress: direction("egress", subject, selecting, inputs),
    selectedBy: selecting.map((p) => p.ref),
  };
}

/**
 * Whether identities `changed` can alter the policy of an endpoint: some rule of a policy that
 * selects it names one of them as a peer (directly, by labels, or through requirements). Only
 * such endpoints are recomputed when identities come or go (incremental updates).
 */
export function affectedBy(
  subject: Pick<EndpointSubject, "labels">,
  changed: readonly number[],
  inputs: PolicyInputs,
): boolean {
  const views = inputs.identities.filter((i) => changed.includes(i.id));
  if (views.length < changed.length) return true; // a removed identity: be safe
  for (const p of inputs.policies) {
    if (!matches(p.subject, subject.labels)) continue;
    for (const rule of p.rules) {
      if (rule.requires.length) return true;
      const ids = peerIdentities(rule.peers, [], views, inputs.cidrGroups);
      if (ids.has(WILDCARD) || changed.some((c) => ids.has(c))) return true;
    }
  }
  return false;
}

export type Verdict =
  | { verdict: "allowed"; by: PolicyEntry | "not enforced" }
  | { verdict: "denied"; by: PolicyEntry | "default deny" }
  | { verdict: "audit"; by: PolicyEntry | "default deny" };

function longestMatch(
  entries: readonly PolicyEntry[],
  identity: number,
  protocol: number,
  port: number,
): PolicyEntry | undefined {
  let best: PolicyEntry | undefined;
  let bestLen = -1;
  for (const e of entries) {
    if (e.identity !== identity) continue;
    const len = e.protocol === IPPROTO.ANY ? 0 : 8 + e.bits;
    if (e.protocol !== IPPROTO.ANY && e.protocol !== protocol) continue;
    if (
      e.protocol !== IPPROTO.ANY &&
      !prefixContains({ port: e.port, bits: e.bits }, { port, bits: 16 })
    ) {
      continue;
    }
    if (len > bestLen) {
      best = e;
      bestLen = len;
    }
  }
  return best;
}

/** What the datapath decides for one packet (policy.h, in TypeScript): for traces and tests. */
export function verdictFor(
  policy: DirectionPolicy,
  identity: number,
  protocol: number,
  port: number,
): Verdict {
  if (!policy.enforced) return { verdict: "allowed", by: "not enforced" };
  const peer = longestMatch(policy.entries, identity, protocol, port);
  const any = longestMatch(policy.entries, WILDCARD, protocol, port);
  const hit = !peer || any?.deny ? any ?? peer : peer;
  if (hit && !hit.deny) return { verdict: "allowed", by: hit };
  if (hit?.audit) return { verdict: "audit", by: hit };
  const by = hit ?? "default deny";
  return policy.audit ? { verdict: "audit", by } : { verdict: "denied", by };
}
