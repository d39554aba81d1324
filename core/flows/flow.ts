// A flow: one event of the datapath (bpf/lib/trace.h), decoded and enriched, in the shape Hubble
// users know. The JSON of a Flow uses Hubble's field names (flow.proto as `hubble observe -o
// json` prints it: snake_case, with Hubble's exceptions "IP", "l4", "TCP", "UDP", "ICMPv4",
// "ICMPv6", "SCTP", "Type", "Summary", "ID"), so existing jq recipes work on hypha's output.

export const VERDICTS = [
  "FORWARDED",
  "DROPPED",
  "ERROR",
  "AUDIT",
  "REDIRECTED",
  "TRACED",
  "TRANSLATED",
] as const;
export type Verdict = typeof VERDICTS[number];

/** The datapath's verdict numbers (enum flow_verdict, Hubble's numbering). */
export const VERDICT_BY_CODE: Readonly<Record<number, Verdict>> = {
  1: "FORWARDED",
  2: "DROPPED",
  3: "ERROR",
  4: "AUDIT",
  5: "REDIRECTED",
  6: "TRACED",
  7: "TRANSLATED",
};

/** Event types as `hubble observe --type` names them. */
export const EVENT_TYPES = ["trace", "drop", "policy-verdict", "l7", "sock"] as const;
export type EventTypeName = typeof EVENT_TYPES[number];

/** Cilium monitor message types, as Hubble's event_type.type carries them. */
export const MONITOR_TYPE: Readonly<Record<EventTypeName, number>> = {
  drop: 1,
  trace: 4,
  "policy-verdict": 5,
  l7: 129,
  sock: 7,
};

export const TRACE_OBSERVATION_POINTS = [
  "UNKNOWN_POINT",
  "TO_ENDPOINT",
  "FROM_ENDPOINT",
  "FROM_NETWORK",
  "TO_NETWORK",
  "FROM_OVERLAY",
  "TO_OVERLAY",
  "FROM_STACK",
  "TO_STACK",
] as const;
export type TraceObservationPoint = typeof TRACE_OBSERVATION_POINTS[number];

export type TrafficDirection = "TRAFFIC_DIRECTION_UNKNOWN" | "INGRESS" | "EGRESS";

export interface Workload {
  name: string;
  kind: string;
}

export interface FlowEndpoint {
  /** Local endpoint id (0 for remote endpoints and non-endpoints). */
  ID: number;
  identity: number;
  cluster_name?: string;
  namespace?: string;
  /** Identity labels, `source:key=value` (e.g. `k8s:app=web`, `reserved:world`). */
  labels: string[];
  pod_name?: string;
  workloads?: Workload[];
}

export interface TcpFlags {
  FIN?: boolean;
  SYN?: boolean;
  RST?: boolean;
  PSH?: boolean;
  ACK?: boolean;
  URG?: boolean;
  ECE?: boolean;
  CWR?: boolean;
}

export type Layer4 =
  | { TCP: { source_port: number; destination_port: number; flags?: TcpFlags } }
  | { UDP: { source_port: number; destination_port: number } }
  | { SCTP: { source_port: number; destination_port: number } }
  | { ICMPv4: { type: number; code: number } }
  | { ICMPv6: { type: number; code: number } };

export interface PolicyRef {
  name: string;
  namespace?: string;
  kind: string;
  labels?: string[];
}

export interface ServiceRef {
  name: string;
  namespace: string;
}

export interface Flow {
  /** RFC 3339 with nanoseconds. */
  time: string;
  uuid: string;
  verdict: Verdict;
  /** Drops: the reason code (bpf/lib/drop.h) and its name. */
  drop_reason?: number;
  drop_reason_desc?: string;
  ethernet?: { source: string; destination: string };
  IP?: {
    source: string;
    destination: string;
    ipVersion: "IPv4" | "IPv6";
    /** Translations: the address the client sent to (the service), Hubble's source_xlated. */
    source_xlated?: string;
  };
  l4?: Layer4;
  source: FlowEndpoint;
  destination: FlowEndpoint;
  Type: "L3_L4" | "L7" | "SOCK";
  node_name: string;
  event_type: { type: number; sub_type?: number };
  traffic_direction: TrafficDirection;
  trace_observation_point: TraceObservationPoint;
  is_reply: boolean;
  /** Policy verdict events: how the policy matched, and which policy allowed or denied. */
  policy_match_type?: number;
  egress_allowed_by?: PolicyRef[];
  ingress_allowed_by?: PolicyRef[];
  egress_denied_by?: PolicyRef[];
  ingress_denied_by?: PolicyRef[];
  /** Translations: the service the destination was reached through. */
  destination_service?: ServiceRef;
  source_service?: ServiceRef;
  /** Counters of the connection so far (periodic and close reports). */
  packets?: number;
  bytes?: number;
  Summary: string;
}

/** The event type name of a flow, as `--type` filters it. */
export function eventTypeName(f: Pick<Flow, "event_type" | "Type">): EventTypeName {
  if (f.Type === "L7") return "l7";
  if (f.Type === "SOCK") return "sock";
  switch (f.event_type.type) {
    case MONITOR_TYPE.drop:
      return "drop";
    case MONITOR_TYPE["policy-verdict"]:
      return "policy-verdict";
    default:
      return "trace";
  }
}
