// Links (network interfaces) of a namespace: lookup, veth pairs into pod namespaces, the VXLAN
// device, deletion. Names, MACs, MTUs, ports and the netns path are validated (validate.ts)
// before a line is built; names follow explicit `name`/`dev` keywords so no valid name can be
// read as one of ip's keywords.
import { ipBatch, ipJson, type IpOptions, NetlinkError } from "./exec.ts";
import * as check from "./validate.ts";

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
  check.ifname(name, "link name");
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

/** The `ip -batch` lines of a veth pair; throws NetlinkError naming the field of a bad value. */
export function vethLines(spec: VethSpec): string[] {
  const host = check.ifname(spec.hostName, "veth.hostName");
  const pod = check.ifname(spec.podName, "veth.podName");
  const mtu = check.mtu(spec.mtu, "veth.mtu");
  const proto = spec.routeProto
    ? ` proto ${check.intIn(spec.routeProto, "veth.routeProto", "route protocol", 1, 255)}`
    : "";
  return [
    `link add name ${host} mtu ${mtu} address ${check.mac(spec.hostMac, "veth.hostMac")} ` +
    `type veth peer name ${pod} mtu ${mtu} address ${check.mac(spec.podMac, "veth.podMac")} ` +
    `netns ${check.netnsPath(spec.netns, "veth.netns")}`,
    `link set dev ${host} up`,
    ...(spec.hostRoutes ?? []).map((dst, i) =>
      `route replace ${check.cidr(dst, `veth.hostRoutes[${i}]`).text} dev ${host}${proto} ` +
      "scope link"
    ),
  ];
}

/**
 * Creates a veth pair whose peer lands directly in the pod's namespace, host side up, with its
 * host routes: one `ip -batch` process for all of it.
 */
export async function createVeth(spec: VethSpec): Promise<void> {
  await ipBatch(vethLines(spec));
}

export async function deleteLink(name: string, opts: IpOptions = {}): Promise<boolean> {
  const dev = check.ifname(name, "link name");
  try {
    await ipBatch([`link del dev ${dev}`], opts);
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
  check.ifname(name, "vxlan.name");
  check.intIn(port, "vxlan.port", "UDP port", 1, 65535);
  check.mtu(mtu, "vxlan.mtu");
  const existing = await getLink(name);
  if (existing && existing.kind !== "vxlan") {
    throw new NetlinkError(`interface "${name}" exists but is a ${existing.kind ?? "?"} device`);
  }
  // No IPv6 link-local address: the kernel would send neighbour/router discovery into a tunnel
  // that has no node to carry it to.
  const lines = existing ? [] : [
    `link add name ${name} type vxlan external dstport ${port}`,
    `link set dev ${name} addrgenmode none`,
  ];
  if (!existing || existing.mtu !== mtu || !existing.up) {
    lines.push(`link set dev ${name} mtu ${mtu} arp off up`);
  }
  await ipBatch(lines);
  const link = await getLink(name);
  if (!link) throw new NetlinkError(`VXLAN device "${name}" vanished after creation`);
  return link;
}
