// What a record must agree with besides its own shape: the key it is stored under, the pod pools
// of this node's config, this node itself, and what the cluster already knows (pod CIDR claims,
// the identity label index, accepted node records). Pure functions returning issues in the
// record convention (issues.ts); an empty list means the record may be used.
import { createHash } from "node:crypto";
import { type Cidr, parseCidr, tryParseCidr, tryParseIp } from "../../ipam/mod.ts";
import type { Ip } from "../../ipam/ip.ts";
import { labelsKey } from "../../identity/labels.ts";
import { manifestKey } from "../../policy/parse/mod.ts";
import { isObject } from "../../policy/parse/read.ts";
import { type NodeInfo, policyKey, type RecordIssue } from "../../state/mod.ts";
import { item, quote } from "./issues.ts";

/** This node's pod pools (networking.ipv4.pool / ipv6.pool; "" when the family is off). */
export interface PodPools {
  v4: string;
  v6: string;
}

/** What a node checks other nodes against. */
export interface NodeContext {
  /** Parsed pod pools; a family without one accepts no pod CIDR. */
  pools: { 4?: Cidr; 6?: Cidr };
  /** This node's own pod CIDRs and underlay addresses. */
  own: { name: string; podCIDRs: Cidr[]; addresses: string[] };
}

export function poolsOf(p: PodPools): NodeContext["pools"] {
  const v4 = p.v4 ? tryParseCidr(p.v4) : undefined;
  const v6 = p.v6 ? tryParseCidr(p.v6) : undefined;
  return { ...(v4 ? { 4: v4 } : {}), ...(v6 ? { 6: v6 } : {}) };
}

/** The context of this node: its pools and its own row of the nodes table. */
export function nodeContext(pools: PodPools, own: NodeInfo | undefined, name: string): NodeContext {
  return {
    pools: poolsOf(pools),
    own: {
      name,
      podCIDRs: (own?.podCIDRs ?? []).flatMap((c) => tryParseCidr(c) ?? []),
      addresses: own?.addresses ?? [],
    },
  };
}

const POOL_FIELD = { 4: "networking.ipv4.pool", 6: "networking.ipv6.pool" } as const;

/** Addresses that can never be a node's underlay address. */
const NOT_UNDERLAY = ["0.0.0.0/8", "127.0.0.0/8", "224.0.0.0/3", "::/128", "::1/128", "ff00::/8"]
  .map((c) => parseCidr(c));

function underlayProblem(ip: Ip, ctx: NodeContext): string | undefined {
  if (NOT_UNDERLAY.some((c) => c.contains(ip))) {
    return `Address ${quote(ip)} cannot be a node address (unspecified, loopback or multicast)`;
  }
  const pool = ctx.pools[ip.family];
  if (pool?.contains(ip)) {
    return `Address ${quote(ip)} is inside the pod pool ${quote(pool)}: pods own those addresses`;
  }
  if (ctx.own.addresses.includes(ip.toString())) {
    return `Address ${quote(ip)} is this node's own address (${ctx.own.name})`;
  }
  return undefined;
}

/**
 * A node record (from etcd or a Node manifest) against its key and this node: its name is its
 * key's, its addresses are usable underlay addresses (IPv4 first), and each pod CIDR is inside
 * this node's pool of its family and clear of this node's own pod CIDRs (one per family).
 */
export function nodeIssues(
  keyName: string,
  n: { name: string; addresses: string[]; podCIDRs: string[] },
  ctx: NodeContext,
): RecordIssue[] {
  const issues: RecordIssue[] = [];
  if (n.name !== keyName) {
    issues.push({
      path: "name",
      message: `Node name ${quote(n.name)} does not match the name it is stored under (${
        quote(keyName)
      })`,
    });
  }
  if (keyName === ctx.own.name) {
    issues.push({ path: "name", message: `Node ${quote(keyName)} is this node` });
  }
  n.addresses.forEach((a, i) => {
    const ip = tryParseIp(a);
    if (!ip) return; // the shape reported it
    if (i === 0 && ip.family !== 4) {
      issues.push({
        path: item("addresses", 0),
        message: `Must be an IPv4 address (the node's tunnel endpoint), got ${quote(a)}`,
      });
    }
    const problem = underlayProblem(ip, ctx);
    if (problem) issues.push({ path: item("addresses", i), message: problem });
  });
  const families = new Set<number>();
  n.podCIDRs.forEach((text, i) => {
    const c = tryParseCidr(text);
    if (!c) return;
    const path = item("podCIDRs", i);
    if (families.has(c.family)) {
      issues.push({
        path,
        message: `A second IPv${c.family} pod CIDR ${quote(c)}: one per family`,
      });
    }
    families.add(c.family);
    const pool = ctx.pools[c.family];
    if (!pool) {
      issues.push({
        path,
        message: `Pod CIDR ${quote(c)} is IPv${c.family}, and ${
          POOL_FIELD[c.family]
        } is not set on this node`,
      });
    } else if (!pool.containsCidr(c) || pool.equals(c)) {
      issues.push({
        path,
        message: `Pod CIDR ${quote(c)} is not a node CIDR inside the pod pool ${quote(pool)} (${
          POOL_FIELD[c.family]
        })`,
      });
    }
    const mine = ctx.own.podCIDRs.find((o) => o.overlaps(c));
    if (mine) {
      issues.push({
        path,
        message: `Pod CIDR ${quote(c)} overlaps this node's own pod CIDR ${quote(mine)}`,
      });
    }
  });
  return issues;
}

/** A pod CIDR claim (`podcidrs/<cidr>` in etcd): the node holding it, and when it was taken. */
export interface Claim {
  cidr: Cidr;
  node: string;
  /**
   * Store revision of the claim's last write: claims are written once, so an overwritten claim
   * counts as new.
   */
  revision: number;
}

/**
 * The claims of the cluster and their conflicts: two claims of different nodes that overlap
 * (one prefix inside the other) leave the younger one unusable. Claims that cannot be a node
 * CIDR from this node's view (outside the pools, or over this node's own CIDRs) take no part:
 * their node is refused by nodeIssues() anyway, and they must not shadow valid claims.
 */
export class ClaimIndex {
  readonly #byCidr = new Map<string, Claim>();
  readonly #conflicts = new Map<string, Claim>();

  constructor(claims: Iterable<Claim>, ctx: NodeContext) {
    const usable: Claim[] = [];
    for (const c of claims) {
      this.#byCidr.set(c.cidr.toString(), c);
      const pool = ctx.pools[c.cidr.family];
      if (!pool || !pool.containsCidr(c.cidr) || pool.equals(c.cidr)) continue;
      if (c.node !== ctx.own.name && ctx.own.podCIDRs.some((o) => o.overlaps(c.cidr))) continue;
      usable.push(c);
    }
    // Sorted by start address, wider prefixes first: a prefix contains exactly the ones that
    // follow it until one starts past its end.
    usable.sort((a, b) =>
      a.cidr.family - b.cidr.family ||
      (a.cidr.network.value < b.cidr.network.value
        ? -1
        : a.cidr.network.value > b.cidr.network.value
        ? 1
        : a.cidr.prefixLength - b.cidr.prefixLength)
    );
    const open: Claim[] = [];
    for (const c of usable) {
      while (open.length) {
        const top = open[open.length - 1]!;
        if (top.cidr.family === c.cidr.family && top.cidr.containsCidr(c.cidr)) break;
        open.pop();
      }
      for (const outer of open) {
        if (outer.node === c.node) continue;
        const older = outer.revision <= c.revision ? outer : c;
        const younger = older === outer ? c : outer;
        const key = younger.cidr.toString();
        const seen = this.#conflicts.get(key);
        if (!seen || older.revision < seen.revision) this.#conflicts.set(key, older);
      }
      open.push(c);
    }
  }

  /** Why `node` may not use `cidr` (not claimed, claimed by another, an older overlapping claim). */
  problem(cidr: string, node: string): string | undefined {
    const claim = this.#byCidr.get(cidr);
    if (!claim) return `Pod CIDR ${quote(cidr)} is not claimed (no podcidrs/ key for it)`;
    if (claim.node !== node) {
      return `Pod CIDR ${quote(cidr)} is claimed by node ${quote(claim.node)}`;
    }
    const older = this.#conflicts.get(cidr);
    if (older) {
      return `Pod CIDR ${quote(cidr)} overlaps ${quote(older.cidr)}, claimed earlier by node ${
        quote(older.node)
      }`;
    }
    return undefined;
  }
}

/** Each pod CIDR of a node record must be a claim of that node that no older claim overlaps. */
export function claimIssues(name: string, podCIDRs: string[], claims: ClaimIndex): RecordIssue[] {
  return podCIDRs.flatMap((c, i) => {
    const problem = claims.problem(c, name);
    return problem ? [{ path: item("podCIDRs", i), message: problem }] : [];
  });
}

/**
 * An endpoint record (`endpoints/<node>/<id>`) against its key and its node: node and id are the
 * key's, the node is known (an accepted record), and every address is inside its pod CIDRs.
 */
export function endpointIssues(
  key: { node: string; id: number },
  ep: { node: string; id: number; ips: string[] },
  node: NodeInfo | undefined,
): RecordIssue[] {
  const issues: RecordIssue[] = [];
  if (ep.node !== key.node) {
    issues.push({
      path: "node",
      message: `Node ${quote(ep.node)} does not match the node it is stored under (${
        quote(key.node)
      })`,
    });
  }
  if (ep.id !== key.id) {
    issues.push({
      path: "id",
      message: `Endpoint id ${ep.id} does not match the id it is stored under (${key.id})`,
    });
  }
  if (!node) {
    issues.push({
      path: "node",
      message: `Node ${quote(key.node)} is not known (no accepted record for it)`,
    });
    return issues;
  }
  const cidrs = node.podCIDRs.flatMap((c) => tryParseCidr(c) ?? []);
  ep.ips.forEach((text, i) => {
    const ip = tryParseIp(text);
    if (ip && !cidrs.some((c) => c.contains(ip))) {
      issues.push({
        path: item("ips", i),
        message: `Address ${quote(text)} is outside the pod CIDRs of node ${quote(node.name)} (${
          node.podCIDRs.join(", ") || "none"
        })`,
      });
    }
  });
  return issues;
}

/** The label index key of a label set: sha256 of labelsKey() in hex (etcd_identities.ts). */
export function labelsDigest(labels: Record<string, string>): string {
  return createHash("sha256").update(labelsKey(labels)).digest("hex");
}

/**
 * An identity (`identities/id/<n>`) against the label index: its labels' index entry
 * (`identities/labels/<sha256>`) must hold its number, or another number may claim these labels.
 */
export function identityIssues(
  id: number,
  digest: string,
  indexed: string | undefined,
): RecordIssue[] {
  if (indexed === undefined) {
    return [{
      path: "",
      message: `Labels are not in the label index (no identities/labels/${digest} key)`,
    }];
  }
  if (indexed !== String(id)) {
    return [{
      path: "",
      message: `Labels belong to identity ${quote(indexed)} by the label index ` +
        `(identities/labels/${digest}), not to ${id}`,
    }];
  }
  return [];
}

/** A policy manifest (`policies/<kind>/<namespace>/<name>`) names what its key says. */
export function policyKeyIssues(key: string, manifest: unknown): RecordIssue[] {
  if (!isObject(manifest)) return [{ path: "", message: "Must be an object (a policy manifest)" }];
  const k = manifestKey(manifest);
  if ("path" in k) return [{ path: k.path, message: k.message }];
  const named = policyKey(k);
  if (named !== key) {
    return [{
      path: "metadata",
      message: `Manifest ${quote(named)} does not match the key it is stored under (${quote(key)})`,
    }];
  }
  return [];
}
