// The baseline of the pod network benchmarks: pods in the same lab wired without hypha and
// without any BPF: a plain veth pair per pod, host routes in the node, and routes to the other
// node's baseline pods through a second underlay link (eth1 on bridge br1) that no hypha program
// is attached to. Baseline and hypha pods share the lab, so their runs can alternate.
import type { Lab } from "../../tests/lab/lab.ts";
import { ip, run } from "../../tests/lab/netns.ts";

export interface BaselinePod {
  ns: string;
  ip: string;
}

const GATEWAY = "169.254.1.1";

function eth1Address(lab: Lab, nodeIndex: number): string {
  return `${lab.subnet.replace(/\.0$/, ".1")}.${nodeIndex + 11}`;
}

/** A second bridge and an `eth1` in every node: the baseline's underlay, BPF-free. */
export async function baselineUnderlay(lab: Lab): Promise<void> {
  await lab.addBridge("br1");
  for (const [i, n] of [...lab.nodes.values()].entries()) {
    await lab.plug(n.ns, {
      bridge: "br1",
      port: `b${lab.id}${n.name}`,
      ifname: "eth1",
      address: eth1Address(lab, i),
    });
  }
  const nodes = [...lab.nodes.values()];
  for (const [i, n] of nodes.entries()) {
    for (const [j] of nodes.entries()) {
      if (i === j) continue;
      await ip(
        n.ns,
        "route",
        "replace",
        `10.250.${j}.0/24`,
        "via",
        eth1Address(lab, j),
        "dev",
        "eth1",
      );
    }
  }
}

/** Baseline pod `index` (1..) on the node with lab index `nodeIndex` (0..): 10.250.<node>.<i>. */
export async function baselinePod(
  lab: Lab,
  node: string,
  nodeIndex: number,
  index: number,
): Promise<BaselinePod> {
  const ns = `hl-${lab.id}-b${nodeIndex}${index}`;
  const host = `bl${nodeIndex}x${index}`;
  const address = `10.250.${nodeIndex}.${index}`;
  const nodeNs = lab.node(node).ns;
  await wireBaselinePod(nodeNs, ns, host, address);
  await run(["ip", "netns", "exec", nodeNs, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
  return { ns, ip: address };
}

/**
 * Creates pod namespace `ns` joined to `nodeNs` by a veth pair (`host` in the node, eth0 in the
 * pod): `address`/32 in the pod, the node as its default gateway (a link-local next hop with a
 * permanent neighbour entry), a /32 host route to it in the node.
 */
export async function wireBaselinePod(
  nodeNs: string,
  ns: string,
  host: string,
  address: string,
): Promise<void> {
  await run(["ip", "netns", "add", ns]);
  await ip(nodeNs, "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", ns);
  await ip(nodeNs, "link", "set", host, "up");
  const mac = JSON.parse((await ip(nodeNs, "-j", "link", "show", host)).stdout)[0].address;
  await ip(ns, "link", "set", "lo", "up");
  await ip(ns, "link", "set", "eth0", "up");
  await ip(ns, "addr", "add", `${address}/32`, "dev", "eth0");
  await ip(ns, "route", "add", `${GATEWAY}/32`, "dev", "eth0", "scope", "link");
  await ip(ns, "neigh", "replace", GATEWAY, "lladdr", mac, "dev", "eth0", "nud", "permanent");
  await ip(ns, "route", "add", "default", "via", GATEWAY, "dev", "eth0");
  await ip(nodeNs, "route", "replace", `${address}/32`, "dev", host, "scope", "link");
}
