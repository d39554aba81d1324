// The pod side of an endpoint: checking the namespace a runtime hands over, and configuring the
// pod's interface (addresses, a gateway reached through a permanent neighbour entry that points
// at the host-side veth, default routes) with one `ip -batch` inside the pod's namespace.
import { CniErrorCode } from "../cni/errors.ts";
import { ipBatch, ipJson } from "../netlink/mod.ts";
import { cniError } from "./errors.ts";

/**
 * Rejects what is not a usable pod namespace: a missing path (code 3), a file that is no
 * namespace, or the node's own network namespace (code 4). Nothing is created before this.
 */
export function checkNetns(path: string): void {
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(path);
  } catch {
    throw cniError(
      CniErrorCode.UnknownContainer,
      `Network namespace "${path}" does not exist`,
      "CNI_NETNS must name the container's network namespace",
    );
  }
  const own = Deno.statSync("/proc/thread-self/ns/net");
  if (st.dev !== own.dev) {
    throw cniError(
      CniErrorCode.InvalidEnvironment,
      `CNI_NETNS "${path}" is not a namespace`,
      "expected a bind-mounted network namespace such as /var/run/netns/NAME or /proc/PID/ns/net",
    );
  }
  if (st.ino === own.ino) {
    throw cniError(
      CniErrorCode.InvalidEnvironment,
      `CNI_NETNS "${path}" is the node's own network namespace`,
      "a pod needs a namespace of its own",
    );
  }
}

/** Whether the pod's namespace is still there (a pod deleted while the agent was down). */
export function netnsExists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

export interface PodInterface {
  netns: string;
  ifname: string;
  /** Addresses with their gateway (the node's router address of that family). */
  addresses: Array<{ ip: string; family: 4 | 6; gateway: string }>;
  /** MAC of the host-side veth: the gateway's neighbour entry. */
  gatewayMac: string;
}

/** Brings the pod's interface up with its addresses and default routes. */
export async function configurePod(p: PodInterface): Promise<void> {
  const lines = [`link set lo up`, `link set ${p.ifname} up`];
  for (const a of p.addresses) {
    const host = a.family === 4 ? "32" : "128";
    lines.push(
      `addr add ${a.ip}/${host} dev ${p.ifname}${a.family === 6 ? " nodad" : ""}`,
      `route add ${a.gateway}/${host} dev ${p.ifname} scope link`,
      `neigh replace ${a.gateway} lladdr ${p.gatewayMac} dev ${p.ifname} nud permanent`,
      `route add ${a.family === 4 ? "0.0.0.0/0" : "::/0"} via ${a.gateway} dev ${p.ifname}`,
    );
  }
  await ipBatch(lines, { netns: p.netns });
}

/** Addresses (without prefix) on the pod's interface, for CHECK. */
export async function podAddresses(netns: string, ifname: string): Promise<string[]> {
  const links = await ipJson<{ addr_info?: Array<{ local: string }> }>(
    ["addr", "show", "dev", ifname],
    { netns },
  );
  return links.flatMap((l) => (l.addr_info ?? []).map((a) => a.local));
}
