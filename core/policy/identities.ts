// Which identities a rule's peers select: workloads by labels, reserved identities by entity,
// CIDR identities by prefix. Identity 0 is the wildcard ("every identity").
import { RESERVED_IDENTITIES } from "../bpf/generated/identities.ts";
import { parseCidr } from "../ipam/mod.ts";
import type { Entity, Peer, Selector } from "./model.ts";
import { matches } from "./selector.ts";

export const WILDCARD = 0;
export const FIRST_WORKLOAD_IDENTITY = 256;
/** Node-local identities (CIDRs) start here, above the 24 bits carried between nodes. */
export const FIRST_LOCAL_IDENTITY = 0x1000000;

export interface IdentityView {
  id: number;
  /** Identity labels (reserved identities: `reserved:<name>`; CIDR identities: `cidr:<prefix>`). */
  labels: Readonly<Record<string, string>>;
  /** For CIDR identities: the prefix it stands for. */
  cidr?: string;
}

const R = RESERVED_IDENTITIES;
const CLUSTER_RESERVED = [
  R.host,
  R.unmanaged,
  R.health,
  R.init,
  R["remote-node"],
  R["kube-apiserver"],
  R.ingress,
];

export const isWorkload = (i: IdentityView) =>
  i.id >= FIRST_WORKLOAD_IDENTITY && i.id < FIRST_LOCAL_IDENTITY;

/** Reserved identities get `reserved:<name>` labels so selectors can name them. */
export function reservedIdentities(): IdentityView[] {
  return Object.entries(RESERVED_IDENTITIES).filter(([, id]) => id !== 0).map(([name, id]) => ({
    id,
    labels: { [`reserved:${name}`]: "" },
  }));
}

function family(cidr: string): 4 | 6 {
  return cidr.includes(":") ? 6 : 4;
}

function entityIdentities(entity: Entity, all: readonly IdentityView[]): number[] {
  const cidrs = (f?: 4 | 6) =>
    all.filter((i) => i.cidr !== undefined && (!f || family(i.cidr) === f)).map((i) => i.id);
  switch (entity) {
    case "all":
      return [WILDCARD];
    case "world":
      return [R.world, R["world-ipv4"], R["world-ipv6"], ...cidrs()];
    case "world-ipv4":
      return [R.world, R["world-ipv4"], ...cidrs(4)];
    case "world-ipv6":
      return [R.world, R["world-ipv6"], ...cidrs(6)];
    case "cluster":
      return [...CLUSTER_RESERVED, ...all.filter(isWorkload).map((i) => i.id)];
    default:
      return [R[entity]];
  }
}

/** CIDR identities inside `cidr` and outside every `except`. */
function cidrIdentities(cidr: string, except: readonly string[], all: readonly IdentityView[]) {
  const outer = parseCidr(cidr);
  const excluded = except.map((e) => parseCidr(e));
  return all.filter((i) => {
    if (i.cidr === undefined) return false;
    const c = parseCidr(i.cidr);
    if (c.address.family !== outer.address.family || !outer.containsCidr(c)) return false;
    return !excluded.some((e) => e.address.family === c.address.family && e.containsCidr(c));
  }).map((i) => i.id);
}

/**
 * The identities `peers` select, every one also matching all of `requires`. The wildcard stands
 * for "everybody" unless requirements narrow it down to the identities that meet them.
 */
export function peerIdentities(
  peers: readonly Peer[],
  requires: readonly Selector[],
  all: readonly IdentityView[],
  groups: ReadonlyMap<string, readonly string[]>,
): Set<number> {
  const out = new Set<number>();
  const byId = new Map(all.map((i) => [i.id, i]));
  const meets = (id: number) => {
    if (requires.length === 0) return true;
    const i = byId.get(id);
    return i !== undefined && requires.every((s) => matches(s, i.labels));
  };
  const add = (ids: Iterable<number>) => {
    for (const id of ids) {
      if (id === WILDCARD && requires.length > 0) {
        for (const i of all) if (meets(i.id)) out.add(i.id);
      } else if (meets(id)) out.add(id);
    }
  };
  for (const p of peers) {
    switch (p.kind) {
      case "any":
        add([WILDCARD]);
        break;
      case "endpoints": {
        // Reserved identities are only selected by selectors that name them.
        const reserved = p.selector.requirements.some((r) => r.key.startsWith("reserved:"));
        add(
          all.filter((i) =>
            (isWorkload(i) || (reserved && i.id < FIRST_WORKLOAD_IDENTITY)) &&
            matches(p.selector, i.labels)
          ).map((i) => i.id),
        );
        break;
      }
      case "entity":
        add(entityIdentities(p.entity, all));
        break;
      case "cidr":
        add(cidrIdentities(p.cidr, p.except, all));
        break;
      case "cidrGroup":
        for (const c of groups.get(p.group) ?? []) add(cidrIdentities(c, p.except, all));
        break;
    }
  }
  return out;
}

/** Every CIDR (with its excepts) the policies mention: each gets a node-local identity. */
export function policyCidrs(
  peers: Iterable<Peer>,
  groups: ReadonlyMap<string, readonly string[]>,
): Set<string> {
  const out = new Set<string>();
  for (const p of peers) {
    if (p.kind === "cidr") {
      out.add(parseCidr(p.cidr).toString());
      for (const e of p.except) out.add(parseCidr(e).toString());
    } else if (p.kind === "cidrGroup") {
      for (const c of groups.get(p.group) ?? []) out.add(parseCidr(c).toString());
      for (const e of p.except) out.add(parseCidr(e).toString());
    }
  }
  return out;
}
