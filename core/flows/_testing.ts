// Flows for tests: a TCP SYN from shop/web to shop/db, changed by overrides.
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
