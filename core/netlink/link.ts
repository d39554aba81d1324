// Links (network interfaces) of a namespace: lookup, veth pairs into pod namespaces, the VXLAN
// device, deletion.
import { ipBatch, ipJson, type IpOptions, NetlinkError } from "./exec.ts";

export interface LinkInfo {
  name: string;
  ifindex: number;
  mac: string;
  mtu: number;
  up: boolean;
  kind?: string;
}

interface IpLink {
  ifindex: number;
  ifname: string;
  address?: string;
  mtu: number;
  flags?: string[];
  linkinfo?: { info_kind?: string };
}

function toInfo(l: IpLink): LinkInfo {
  return {
    name: l.ifname,
    ifindex: l.ifindex,
    mac: l.address ?? "",
    mtu: l.mtu,
    up: l.flags?.includes("UP") ?? false,
    ...(l.linkinfo?.info_kind ? { kind: l.linkinfo.info_kind } : {}),
  };
}

/** The link called `name`, or undefined when there is none. */
export async function getLink(name: string, opts: IpOptions = {}): Promise<LinkInfo | undefined> {
  try {
    const [l] = await ipJson<IpLink>(["-d", "link", "show", "dev", name], opts);
    return l ? toInfo(l) : undefined;
  } catch (err) {
    if (err instanceof NetlinkError && /does not exist|Cannot find device/i.test(err.stderr)) {
      return undefined;
    }
    throw err;
  }
}

export interface VethSpec {
  /** Host-side name (in the caller's namespace). */
  hostName: string;
  hostMac: string;
  /** Name of the peer inside the pod namespace. */
  podName: string;
  podMac: string;
  /** The pod's network namespace (path). */
  netns: string;
  mtu: number;
  /** Host routes (e.g. the pod's /32) through the host side, tagged with `routeProto`. */
  hostRoutes?: string[];
  routeProto?: number;
}

/**
 * Creates a veth pair whose peer lands directly in the pod's namespace, host side up, with its
 * host routes: one `ip -batch` process for all of it.
 */
export async function createVeth(spec: VethSpec): Promise<void> {
  await ipBatch([
    `link add ${spec.hostName} mtu ${spec.mtu} address ${spec.hostMac} type veth ` +
    `peer name ${spec.podName} mtu ${spec.mtu} address ${spec.podMac} netns ${spec.netns}`,
    `link set ${spec.hostName} up`,
    ...(spec.hostRoutes ?? []).map((dst) =>
      `route replace ${dst} dev ${spec.hostName}${
        spec.routeProto ? ` proto ${spec.routeProto}` : ""
      } scope link`
    ),
  ]);
}

export async function deleteLink(name: string, opts: IpOptions = {}): Promise<boolean> {
  try {
    await ipBatch([`link del ${name}`], opts);
    return true;
  } catch (err) {
    if (err instanceof NetlinkError && /Cannot find device|does not exist/i.test(err.stderr)) {
      return false;
    }
    throw err;
  }
}

/**
 * The VXLAN device of tunnel mode: collect-metadata (external) mode, so BPF sets the remote and
 * the VNI per packet; no ARP (the datapath rewrites MACs on delivery). Created when missing.
 */
export async function ensureVxlan(name: string, port: number, mtu: number): Promise<LinkInfo> {
  const existing = await getLink(name);
  if (existing && existing.kind !== "vxlan") {
    throw new NetlinkError(`interface "${name}" exists but is a ${existing.kind ?? "?"} device`);
  }
  // No IPv6 link-local address: the kernel would send neighbour/router discovery into a tunnel
  // that has no node to carry it to.
  const lines = existing
    ? []
    : [`link add ${name} type vxlan external dstport ${port}`, `link set ${name} addrgenmode none`];
  if (!existing || existing.mtu !== mtu || !existing.up) {
    lines.push(`link set ${name} mtu ${mtu} arp off up`);
  }
  await ipBatch(lines);
  const link = await getLink(name);
  if (!link) throw new NetlinkError(`VXLAN device "${name}" vanished after creation`);
  return link;
}
