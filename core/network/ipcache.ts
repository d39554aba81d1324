// The ipcache's desired contents, computed from the state tables: every endpoint (local or on
// another node) as a host prefix with its identity, every node's pod CIDRs (the owning node's
// address as tunnel endpoint) and every node address. One owner, one table: rows change as the
// nodes and endpoints tables change. The tables hold checked rows (core/store/records); a value
// that still does not parse is left out rather than thrown on, so no row can stop the others.
import type { IpcacheKey, IpcacheValue } from "../bpf/generated/host.ts";
import { RESERVED_IDENTITIES } from "../bpf/generated/identities.ts";
import { Cidr, tryParseCidr, tryParseIp } from "../ipam/mod.ts";
import type { EndpointRecord, NodeInfo } from "../state/mod.ts";
import { addrWords, ipcacheKeyOf } from "../datapath/addr.ts";

/** IPCACHE_F_* in bpf/lib/ipcache.h */
export const IPCACHE_F = { local: 0x1, endpoint: 0x2, podCidr: 0x4, node: 0x8 } as const;

export type IpcacheRow = [IpcacheKey, IpcacheValue];

function hostCidr(ip: string): Cidr | undefined {
  const a = tryParseIp(ip);
  return a && new Cidr(a, a.bits);
}

function tunnelOf(node: NodeInfo | undefined): number {
  const v4 = node?.addresses.map((a) => tryParseIp(a)).find((a) => a?.family === 4);
  return v4 ? addrWords(v4)[0]! : 0;
}

export function nodeRows(node: NodeInfo, self: string): IpcacheRow[] {
  const isSelf = node.name === self;
  const rows: IpcacheRow[] = [];
  for (const c of node.podCIDRs.flatMap((text) => tryParseCidr(text) ?? [])) {
    rows.push([ipcacheKeyOf(c), {
      identity: RESERVED_IDENTITIES.unmanaged,
      tunnel_ipv4: isSelf ? 0 : tunnelOf(node),
      flags: IPCACHE_F.podCidr,
    }]);
  }
  for (const a of node.addresses.flatMap((text) => hostCidr(text) ?? [])) {
    rows.push([ipcacheKeyOf(a), {
      identity: isSelf ? RESERVED_IDENTITIES.host : RESERVED_IDENTITIES["remote-node"],
      tunnel_ipv4: 0,
      flags: IPCACHE_F.node,
    }]);
  }
  return rows;
}

export function endpointRows(
  ep: EndpointRecord,
  self: string,
  node: NodeInfo | undefined,
): IpcacheRow[] {
  const isSelf = ep.node === self;
  // A remote endpoint whose node is not known yet (its record can arrive before the node's)
  // gets no rows: a row without its tunnel endpoint would misroute until the node arrives.
  if (!isSelf && !node) return [];
  return ep.ips.flatMap((text) => hostCidr(text) ?? []).map((ip) => [ipcacheKeyOf(ip), {
    identity: ep.identity,
    tunnel_ipv4: isSelf ? 0 : tunnelOf(node),
    flags: IPCACHE_F.endpoint | (isSelf ? IPCACHE_F.local : 0),
  }]);
}

/**
 * Prefixes that policies name, with their node-local CIDR identities. A prefix inside a node's
 * pod CIDR keeps that node as its tunnel endpoint and the pod-CIDR flag, so naming it in a
 * policy never changes where its packets go.
 */
export function cidrRows(
  cidrIds: ReadonlyMap<string, number>,
  nodes: NodeInfo[],
  self: string,
): IpcacheRow[] {
  const podCidrs = nodes.flatMap((n) =>
    n.podCIDRs.flatMap((c) => {
      const cidr = tryParseCidr(c);
      return cidr ? [{ node: n, cidr }] : [];
    })
  );
  return [...cidrIds].flatMap(([text, identity]): IpcacheRow[] => {
    const cidr = tryParseCidr(text);
    if (!cidr) return [];
    const owner = podCidrs.filter((p) => p.cidr.containsCidr(cidr))
      .sort((a, b) => b.cidr.prefixLength - a.cidr.prefixLength)[0];
    return [[ipcacheKeyOf(cidr), {
      identity,
      tunnel_ipv4: owner && owner.node.name !== self ? tunnelOf(owner.node) : 0,
      flags: owner ? IPCACHE_F.podCidr : 0,
    }]];
  });
}

/** The whole desired ipcache for the current tables (later rows win on equal prefixes). */
export function desiredIpcache(
  nodes: NodeInfo[],
  endpoints: EndpointRecord[],
  self: string,
  cidrIds: ReadonlyMap<string, number> = new Map(),
): IpcacheRow[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  return [
    ...nodes.flatMap((n) => nodeRows(n, self)),
    ...cidrRows(cidrIds, nodes, self),
    ...endpoints.flatMap((e) => endpointRows(e, self, byName.get(e.node))),
  ];
}
