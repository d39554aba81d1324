// An endpoint as the maps, the cluster store and the CNI result see it.
import type { HyphaResult } from "../cni/result.ts";
import type { EndpointInfo } from "../bpf/generated/host.ts";
import type { IpFamily } from "../ipam/mod.ts";
import type { EndpointRecord } from "../state/mod.ts";
import { macBytes } from "../datapath/addr.ts";
import type { PolicyState } from "./manager.ts";
import type { LocalEndpoint } from "./persist.ts";

/** The endpoint map entry of one of the endpoint's addresses. */
export function endpointInfo(
  ep: LocalEndpoint,
  ifindex: number,
  policy: PolicyState,
): EndpointInfo {
  return {
    ifindex,
    id: ep.id,
    identity: ep.identity,
    flags: policy.flags,
    mac: macBytes(ep.podMac),
    node_mac: macBytes(ep.hostMac),
    policy_generation: policy.generation,
  };
}

/** What the cluster store publishes. */
export function endpointRecord(ep: LocalEndpoint): EndpointRecord {
  return {
    node: ep.node,
    id: ep.id,
    containerId: ep.containerId,
    ifname: ep.ifname,
    namespace: ep.namespace,
    pod: ep.pod,
    labels: ep.labels,
    identity: ep.identity,
    ips: ep.ips,
    ...(ep.namedPorts && Object.keys(ep.namedPorts).length ? { namedPorts: ep.namedPorts } : {}),
    ...(ep.hostPorts?.length ? { hostPorts: ep.hostPorts } : {}),
  };
}

/** The ADD result: the host and pod interfaces, the addresses with their gateway, routes. */
export function cniResult(ep: LocalEndpoint, router: (family: IpFamily) => string): HyphaResult {
  return {
    interfaces: [
      { name: ep.hostIfname, mac: ep.hostMac },
      { name: ep.ifname, mac: ep.podMac, sandbox: ep.netns, mtu: ep.mtu },
    ],
    ips: ep.ips.map((ip) => {
      const family = ip.includes(":") ? 6 : 4;
      return {
        address: `${ip}/${family === 4 ? 32 : 128}`,
        gateway: router(family),
        interface: 1,
      };
    }),
    routes: ep.ips.map((ip) => ({
      dst: ip.includes(":") ? "::/0" : "0.0.0.0/0",
      gw: router(ip.includes(":") ? 6 : 4),
    })),
    dns: {},
  };
}
