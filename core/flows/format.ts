// How `hypha observe` prints flows, as `hubble observe` does:
//   compact  `Dec  5 10:15:42.123: shop/web:51234 (ID:256) -> shop/db:5432 (ID:257) to-endpoint
//            FORWARDED (TCP Flags: SYN)` (replies flip to `<-` so the client stays on the left)
//   table    TIMESTAMP SOURCE DESTINATION TYPE VERDICT SUMMARY
//   json     one `{"flow": ..., "node_name": ..., "time": ...}` line per flow (as exported)
import { RESERVED_IDENTITIES } from "../bpf/generated/identities.ts";
import type { Flow, FlowEndpoint, TcpFlags } from "./flow.ts";
import { type FlowEvent, flowRecord, isLostEvents } from "./events.ts";
import { flowTimeMs } from "./time.ts";

export const OUTPUT_FORMATS = ["compact", "table", "json"] as const;
export type OutputFormat = typeof OUTPUT_FORMATS[number];

export interface FormatOptions {
  /** Print times in UTC instead of the local zone. */
  utc?: boolean;
  /** Prefix each compact line with the node (`[node1]`), as `hubble observe --print-node-name`. */
  nodeName?: boolean;
}

const TCP_FLAG_ORDER: ReadonlyArray<keyof TcpFlags> = [
  "SYN",
  "ACK",
  "RST",
  "FIN",
  "PSH",
  "URG",
  "ECE",
  "CWR",
];

/** ICMP type names as Hubble prints them (gopacket's ICMPv4TypeCode/ICMPv6TypeCode). */
const ICMPV4_TYPES: Readonly<Record<number, string>> = {
  0: "EchoReply",
  3: "DestinationUnreachable",
  4: "SourceQuench",
  5: "Redirect",
  8: "EchoRequest",
  9: "RouterAdvertisement",
  10: "RouterSolicitation",
  11: "TimeExceeded",
  12: "ParameterProblem",
  13: "TimestampRequest",
  14: "TimestampReply",
};
const ICMPV4_UNREACHABLE: Readonly<Record<number, string>> = {
  0: "Net",
  1: "Host",
  2: "Protocol",
  3: "Port",
  4: "FragmentationNeeded",
  13: "CommAdminProhibited",
};
const ICMPV6_TYPES: Readonly<Record<number, string>> = {
  1: "DestinationUnreachable",
  2: "PacketTooBig",
  3: "TimeExceeded",
  4: "ParameterProblem",
  128: "EchoRequest",
  129: "EchoReply",
  133: "RouterSolicitation",
  134: "RouterAdvertisement",
  135: "NeighborSolicitation",
  136: "NeighborAdvertisement",
  137: "Redirect",
};

/** The names of reserved identities (host, world, ...), by number. */
export const RESERVED_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(RESERVED_IDENTITIES).map(([name, id]) => [id as number, name]),
);

const POLICY_MATCH_TYPES: Readonly<Record<number, string>> = {
  0: "none",
  1: "L3-Only",
  2: "L3-L4",
  3: "L4-Only",
  4: "all",
  5: "L3-Proto",
  6: "Proto-Only",
};

/**
 * Hubble's Summary: "TCP Flags: SYN, ACK", "UDP", "ICMPv4 EchoRequest"; a drop without a
 * transport header says its drop reason. The decoder's own Summary wins when it set one.
 */
export function summary(flow: Flow): string {
  if (flow.Summary) return flow.Summary;
  const l4 = flow.l4;
  if (l4) {
    if ("TCP" in l4) {
      const flags = l4.TCP.flags;
      const set = TCP_FLAG_ORDER.filter((f) => flags?.[f]);
      return `TCP Flags: ${set.join(", ")}`;
    }
    if ("UDP" in l4) return "UDP";
    if ("SCTP" in l4) return "SCTP";
    if ("ICMPv4" in l4) return `ICMPv4 ${icmpV4Name(l4.ICMPv4.type, l4.ICMPv4.code)}`;
    if ("ICMPv6" in l4) return `ICMPv6 ${ICMPV6_TYPES[l4.ICMPv6.type] ?? `Type${l4.ICMPv6.type}`}`;
  }
  if (flow.verdict === "DROPPED") return dropReason(flow);
  return flow.IP ? flow.IP.ipVersion : flow.ethernet ? "Ethernet" : "";
}

function icmpV4Name(type: number, code: number): string {
  const name = ICMPV4_TYPES[type] ?? `Type${type}`;
  if (type === 3) return `${name}(${ICMPV4_UNREACHABLE[code] ?? `Code${code}`})`;
  return name;
}

/** "Policy denied" for POLICY_DENIED (Hubble prints the reason this way in its TYPE column). */
export function dropReason(flow: Flow): string {
  const desc = flow.drop_reason_desc ??
    (flow.drop_reason !== undefined ? `UNKNOWN_${flow.drop_reason}` : "UNKNOWN");
  const words = desc.toLowerCase().replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Hubble's TYPE column: the observation point, the drop reason, or the policy verdict. */
export function flowType(flow: Flow): string {
  if (flow.Type === "L7") return "l7";
  if (flow.Type === "SOCK") return "sock";
  switch (flow.event_type.type) {
    case 1:
      return dropReason(flow);
    case 5:
      return `policy-verdict:${POLICY_MATCH_TYPES[flow.policy_match_type ?? 0] ?? "none"} ${
        flow.traffic_direction === "TRAFFIC_DIRECTION_UNKNOWN" ? "UNKNOWN" : flow.traffic_direction
      }`;
    default:
      return flow.trace_observation_point === "UNKNOWN_POINT"
        ? "UNKNOWN"
        : flow.trace_observation_point.toLowerCase().replaceAll("_", "-");
  }
}

/** Policy verdict events say ALLOWED/DENIED/AUDITED, others the verdict (Hubble's rule). */
export function verdictText(flow: Flow): string {
  if (flow.event_type.type !== 5) return flow.verdict;
  if (flow.verdict === "FORWARDED" || flow.verdict === "REDIRECTED") return "ALLOWED";
  if (flow.verdict === "DROPPED" || flow.verdict === "ERROR") return "DENIED";
  if (flow.verdict === "AUDIT") return "AUDITED";
  return flow.verdict;
}

function ports(flow: Flow): [number | undefined, number | undefined] {
  const l4 = flow.l4;
  if (!l4) return [undefined, undefined];
  const p = "TCP" in l4 ? l4.TCP : "UDP" in l4 ? l4.UDP : "SCTP" in l4 ? l4.SCTP : undefined;
  return p ? [p.source_port, p.destination_port] : [undefined, undefined];
}

/** `ns/pod:port`, the service (`ns/svc:port`), else the address (`[v6]:port`). */
function host(
  flow: Flow,
  ep: FlowEndpoint,
  ip: string | undefined,
  port: number | undefined,
  service: { name: string; namespace: string } | undefined,
): string {
  if (!flow.IP) return ip ?? "";
  let name: string;
  if (ep.pod_name) name = `${ep.namespace ?? ""}/${ep.pod_name}`;
  else if (service) name = `${service.namespace}/${service.name}`;
  else name = ip ?? "";
  if (port === undefined || port === 0) return name;
  return name.includes(":") && !ep.pod_name && !service ? `[${name}]:${port}` : `${name}:${port}`;
}

/** Source and destination as Hubble prints them. */
export function endpoints(flow: Flow): [string, string] {
  if (!flow.IP && flow.ethernet) return [flow.ethernet.source, flow.ethernet.destination];
  const [sp, dp] = ports(flow);
  return [
    host(flow, flow.source, flow.IP?.source, sp, flow.source_service),
    host(flow, flow.destination, flow.IP?.destination, dp, flow.destination_service),
  ];
}

function identity(id: number): string {
  const reserved = RESERVED_NAMES.get(id);
  return reserved !== undefined && id !== 0 ? `(${reserved})` : `(ID:${id})`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Go's time.StampMilli ("Jan _2 15:04:05.000"), Hubble's default time format. */
export function timestamp(flowTime: string, opts: FormatOptions = {}): string {
  const ms = flowTimeMs({ time: flowTime });
  if (!ms) return "N/A";
  const d = new Date(Math.floor(ms));
  const u = opts.utc;
  const two = (n: number) => String(n).padStart(2, "0");
  const day = String(u ? d.getUTCDate() : d.getDate()).padStart(2, " ");
  return `${MONTHS[u ? d.getUTCMonth() : d.getMonth()]} ${day} ` +
    `${two(u ? d.getUTCHours() : d.getHours())}:${two(u ? d.getUTCMinutes() : d.getMinutes())}:` +
    `${two(u ? d.getUTCSeconds() : d.getSeconds())}.` +
    String(u ? d.getUTCMilliseconds() : d.getMilliseconds()).padStart(3, "0");
}

/** One compact line (see the header). */
export function compactLine(flow: Flow, opts: FormatOptions = {}): string {
  let [src, dst] = endpoints(flow);
  let [srcId, dstId] = [identity(flow.source.identity), identity(flow.destination.identity)];
  let arrow = "->";
  if (flow.is_reply) {
    [src, dst] = [dst, src];
    [srcId, dstId] = [dstId, srcId];
    arrow = "<-";
  }
  const node = opts.nodeName ? ` [${flow.node_name}]` : "";
  return `${timestamp(flow.time, opts)}${node}: ${src} ${srcId} ${arrow} ${dst} ${dstId} ` +
    `${flowType(flow)} ${verdictText(flow)} (${summary(flow)})`;
}

export const TABLE_HEADER = ["TIMESTAMP", "SOURCE", "DESTINATION", "TYPE", "VERDICT", "SUMMARY"];

/** The cells of one table row (TABLE_HEADER). */
export function tableRow(flow: Flow, opts: FormatOptions = {}): string[] {
  const [src, dst] = endpoints(flow);
  return [timestamp(flow.time, opts), src, dst, flowType(flow), verdictText(flow), summary(flow)];
}

/** One NDJSON line (no newline), the export format. */
export function jsonLine(flow: Flow): string {
  return JSON.stringify(flowRecord(flow));
}

/** A lost-events notice as a human line (compact and table output print it to stderr). */
export function lostLine(e: FlowEvent, opts: FormatOptions = {}): string {
  if (!isLostEvents(e)) return "";
  const l = e.lost_events;
  return `${timestamp(e.time, opts)} [${e.node_name}]: EVENTS LOST: ${l.source} ` +
    `${l.num_events_lost} events lost`;
}
