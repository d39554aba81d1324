// Flows for tests: a TCP SYN from shop/web to shop/db, changed by overrides; and the same as a
// datapath event (struct flow_event) with a node context that knows both pods.
import { FLOW_F, type FlowEvent, flowEvent, OBS_POINT } from "../bpf/generated/host.ts";
import { addrWords } from "../datapath/addr.ts";
import { parseIp } from "../ipam/mod.ts";
import type { FlowContext, KnownEndpoint } from "./decode.ts";
import type { Flow, FlowEndpoint } from "./flow.ts";

let counter = 0;

export interface FlowOverrides extends Partial<Omit<Flow, "source" | "destination">> {
  source?: Partial<FlowEndpoint>;
  destination?: Partial<FlowEndpoint>;
  /** Seconds after 2026-12-05T10:15:42Z (sets `time`). */
  at?: number;
}

export function makeFlow(o: FlowOverrides = {}): Flow {
  const { source, destination, at, ...rest } = o;
  const n = ++counter;
  const time = at !== undefined
    ? new Date(Date.UTC(2026, 11, 5, 10, 15, 42) + at * 1000).toISOString().replace(
      "Z",
      "000000Z",
    )
    : "2026-12-05T10:15:42.123456789Z";
  return {
    time,
    uuid: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
    verdict: "FORWARDED",
    IP: { source: "10.244.1.5", destination: "10.244.2.7", ipVersion: "IPv4" },
    l4: { TCP: { source_port: 51234, destination_port: 5432, flags: { SYN: true } } },
    source: {
      ID: 12,
      identity: 256,
      namespace: "shop",
      pod_name: "web-7d9f8-abcde",
      labels: ["k8s:app=web", "k8s:io.kubernetes.pod.namespace=shop"],
      ...source,
    },
    destination: {
      ID: 0,
      identity: 257,
      namespace: "shop",
      pod_name: "db-0",
      labels: ["k8s:app=db", "k8s:tier=data", "k8s:io.kubernetes.pod.namespace=shop"],
      ...destination,
    },
    Type: "L3_L4",
    node_name: "node1",
    event_type: { type: 4, sub_type: 1 },
    traffic_direction: "EGRESS",
    trace_observation_point: "TO_ENDPOINT",
    is_reply: false,
    Summary: "",
    ...rest,
  };
}

export const htons = (v: number) => ((v & 255) << 8) | (v >>> 8);
export const words = (ip: string) => addrWords(parseIp(ip));

/** A new TCP connection from shop/web (10.1.0.5, local) to shop/db (10.1.1.9), changed by `over`. */
export function event(over: Partial<FlowEvent> = {}): FlowEvent {
  return {
    time: 5_000_000_123n,
    packets: 1n,
    bytes: 60n,
    type: 4,
    verdict: 1,
    obs_point: OBS_POINT.FROM_ENDPOINT,
    flags: FLOW_F.NEW | FLOW_F.EGRESS,
    drop_reason: 0,
    family: 4,
    proto: 6,
    tcp_flags: 0x02,
    icmp_type: 0,
    icmp_code: 0,
    endpoint: 7,
    ifindex: 12,
    src_identity: 300,
    dst_identity: 301,
    rule: 0,
    len: 60,
    sport: htons(40000),
    dport: htons(8080),
    orig_dport: 0,
    eth: new Uint8Array([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]),
    saddr: words("10.1.0.5"),
    daddr: words("10.1.1.9"),
    orig_daddr: [0, 0, 0, 0],
    ...over,
  };
}

/** The event as the ring buffer gives it. */
export function eventBytes(over: Partial<FlowEvent> = {}): Uint8Array {
  const bytes = new Uint8Array(flowEvent.size);
  flowEvent.encode(event(over), new DataView(bytes.buffer), 0);
  return bytes;
}

/** The pods testContext() knows, by address (a test may change them: pods come and go). */
export function testEndpoints(): Record<string, KnownEndpoint> {
  return {
    "10.1.0.5": {
      id: 7,
      local: true,
      namespace: "shop",
      pod: "web-5d9c7b8f4-x2k9z",
      labels: { app: "web", "pod-template-hash": "5d9c7b8f4" },
    },
    "10.1.1.9": { id: 3, local: false, namespace: "shop", pod: "db-0", labels: { app: "db" } },
  };
}

/** Node n1 of cluster lab: the pods of `endpoints`, policy rule 4, service shop/web. */
export function testContext(
  endpoints: Record<string, KnownEndpoint> = testEndpoints(),
): FlowContext & { generation: number } {
  return {
    nodeName: "n1",
    cluster: "lab",
    bootToWallNs: 1_700_000_000_000_000_000n,
    generation: 0,
    endpointByIp: (ip) => endpoints[ip],
    identityLabels: (id) =>
      id === 2 ? ["reserved:world"] : [`k8s:app=${id === 300 ? "web" : "db"}`],
    rule: (id) =>
      id === 4
        ? {
          policy: { kind: "CiliumNetworkPolicy", namespace: "shop", name: "db-in" },
          matchType: 2,
        }
        : undefined,
    serviceAt: (ip, port, proto) =>
      ip === "10.96.0.10" && port === 80 && proto === 6
        ? { name: "web", namespace: "shop" }
        : undefined,
    interfaceKind: (ifindex) => (ifindex === 12 ? "endpoint" : "network"),
  };
}
