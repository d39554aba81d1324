// Rebuilding a local endpoint whose file is damaged, from what the kernel holds: the host-side
// veth hypha created (its kernel record names the endpoint, container and pod; its MAC and MTU),
// the host routes through it (the pod's addresses), the endpoint map rows (identity, pod MAC,
// enforcement) and the peer in the pod's namespace. The pod keeps its network and its addresses;
// what only the file knew (CNI labels the identity dropped, host ports) is lost and reported.
import { type Ip, parseIp } from "../ipam/mod.ts";
import { workloadOf } from "../identity/labels.ts";
import {
  getLink,
  type LinkInfo,
  listHyphaRoutes,
  listIfnames,
  readIfalias,
} from "../netlink/mod.ts";
import { ENDPOINT_IFNAME_PREFIX } from "../network/node_network.ts";
import type { State } from "../state/mod.ts";
import type { ClusterMaps } from "../datapath/cluster_maps.ts";
import { endpointKeyOf, macText, wordsToIp } from "../datapath/addr.ts";
import { decodeKernelRecord, type KernelRecord } from "./kernel_record.ts";
import type { DamagedEndpointFile, EndpointFiles, LocalEndpoint } from "./persist.ts";
import { damagedStateFiles } from "../state_files/mod.ts";

export interface KernelEndpoint {
  /** The host-side veth. */
  ifname: string;
  record: KernelRecord;
}

/** hypha's endpoint veths in this namespace that carry a kernel record, by endpoint id. */
export function kernelEndpoints(): Map<number, KernelEndpoint> {
  const out = new Map<number, KernelEndpoint>();
  for (const ifname of listIfnames()) {
    if (!ifname.startsWith(ENDPOINT_IFNAME_PREFIX)) continue;
    const record = decodeKernelRecord(readIfalias(ifname));
    if (record) out.set(record.id, { ifname, record });
  }
  return out;
}

export interface RebuildSources {
  node: string;
  maps: ClusterMaps;
  state: State;
  /** The pod's identity when the endpoint map has no row for it. */
  identityFor(namespace: string, pod: string, labels: Record<string, string>): Promise<number>;
}

export type Rebuilt = { endpoint: LocalEndpoint; lost: string[] } | { why: string };

/** The endpoint `k` stands for, or why it cannot be rebuilt. */
export async function rebuildEndpoint(k: KernelEndpoint, src: RebuildSources): Promise<Rebuilt> {
  const link = await getLink(k.ifname);
  if (!link) return { why: `interface "${k.ifname}" went away` };
  const ips = await addressesOf(k, link, src.maps);
  if (!ips.length) return { why: `no host route or endpoint map row leads to "${k.ifname}"` };
  const row = src.maps.endpoints.current(endpointKeyOf(ips[0]!));
  const { record } = k;
  const podMac = row ? macText(row.mac) : await peerMac(record);
  if (!podMac) {
    return { why: `the pod side of "${k.ifname}" is not found and the endpoint map has no row` };
  }
  const namespace = record.namespace ?? "";
  const pod = record.pod ?? "";
  const lost = ["host ports", "labels the identity does not carry"];
  const identity = row?.identity || await src.identityFor(namespace, pod, {});
  const known = src.state.identities.get(String(identity));
  const workload = known ? workloadOf(known.labels) : undefined;
  if (!workload) lost.push("pod labels (until the store knows the identity or the pod)");
  const now = new Date().toISOString();
  const endpoint: LocalEndpoint = {
    node: src.node,
    id: record.id,
    containerId: record.containerId,
    ifname: record.ifname,
    namespace,
    pod,
    labels: workload?.labels ?? {},
    ...(workload ? { cniLabels: workload.labels } : {}),
    ...(workload?.serviceAccount ? { serviceAccount: workload.serviceAccount } : {}),
    identity,
    ips: ips.map(String),
    netns: record.netns ?? "",
    hostIfname: k.ifname,
    hostMac: link.mac,
    podMac,
    mtu: link.mtu,
    createdAt: now,
    rebuiltAt: now,
  };
  return { endpoint, lost };
}

/**
 * Endpoints whose file is damaged, rebuilt from the kernel, their files rewritten; each damaged
 * file is reported with what became of it. A veth that cannot be rebuilt is left alone
 * (`untouchable`), with its file, for the operator; a file no veth claims belonged to a pod that
 * is gone and is removed.
 */
export async function rebuildDamaged(
  damaged: DamagedEndpointFile[],
  files: EndpointFiles,
  src: RebuildSources,
): Promise<{ rebuilt: LocalEndpoint[]; untouchable: string[] }> {
  const rebuilt: LocalEndpoint[] = [];
  const untouchable: string[] = [];
  const kernel = damaged.length ? kernelEndpoints() : new Map<number, KernelEndpoint>();
  const report = (d: DamagedEndpointFile, recovery: string) =>
    damagedStateFiles.report(d.path, d.problem, recovery);
  for (const d of damaged) {
    if (d.id === undefined) {
      report(d, "ignored: not an endpoint's file");
      continue;
    }
    const k = kernel.get(d.id);
    if (!k) {
      await files.remove(d.id);
      report(d, `no interface carries endpoint ${d.id}: its pod is gone; the file was removed`);
      continue;
    }
    const r = await rebuildEndpoint(k, src);
    if ("why" in r) {
      untouchable.push(k.ifname);
      report(d, `not rebuilt (${r.why}); interface "${k.ifname}" and the file were left alone`);
      continue;
    }
    await files.save(r.endpoint);
    rebuilt.push(r.endpoint);
    const ep = r.endpoint;
    report(
      d,
      `rebuilt from the kernel: pod ${ep.namespace}/${ep.pod} on "${k.ifname}", ` +
        `${ep.ips.join(", ")}, identity ${ep.identity}; lost: ${r.lost.join(", ")}`,
    );
  }
  return { rebuilt, untouchable };
}

/** The pod's addresses: host routes through the veth and endpoint map rows that point at it. */
async function addressesOf(k: KernelEndpoint, link: LinkInfo, maps: ClusterMaps): Promise<Ip[]> {
  const found = new Map<string, Ip>();
  for (const r of await listHyphaRoutes()) {
    if (r.dev !== k.ifname || !/\/(32|128)$/.test(r.dst)) continue;
    const ip = parseIp(r.dst.slice(0, r.dst.indexOf("/")));
    found.set(ip.toString(), ip);
  }
  for (const [key, value] of maps.endpoints.kernelEntries()) {
    if (value.ifindex !== link.ifindex || value.id !== k.record.id) continue;
    const ip = wordsToIp(key.addr, key.family === 6 ? 6 : 4);
    found.set(ip.toString(), ip);
  }
  return [...found.values()].sort((a, b) => a.family - b.family);
}

async function peerMac(record: KernelRecord): Promise<string | undefined> {
  if (!record.netns) return undefined;
  const peer = await getLink(record.ifname, { netns: record.netns }).catch(() => undefined);
  return peer?.mac || undefined;
}
