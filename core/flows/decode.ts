// Flow events (struct flow_event, bpf/lib/trace.h) decoded into Flows: the raw record gives
// addresses, ports, verdicts and identities; a FlowContext (the node's state) adds who they are
// (pods, namespaces, labels, workloads), which policy decided and which service was reached.
// In two steps: capture() asks the context when the event arrives and keeps the answers with the
// event's bytes (core/flows/event_log.ts); materialize() makes the Flow whenever it is read.
// Pure: core/flows/context.ts builds the context from the agent's tables.
import { dropReasonName } from "../bpf/generated/drop_reasons.ts";
import { macText } from "../datapath/addr.ts";
import { formatV6Groups } from "../ipam/mod.ts";
import {
  FLOW_EVENT_TYPE,
  FLOW_F,
  FLOW_VERDICT,
  flowEventOffsets as O,
  OBS_POINT,
} from "../bpf/generated/host.ts";
import type {
  Flow,
  FlowEndpoint,
  Layer4,
  PolicyRef,
  ServiceRef,
  TcpFlags,
  TraceObservationPoint,
  TrafficDirection,
} from "./flow.ts";
import { TRACE_OBSERVATION_POINTS, VERDICT_BY_CODE } from "./flow.ts";
import { summary as hubbleSummary } from "./format.ts";
import { EVENT_SIZE, EventLog } from "./event_log.ts";

/** An endpoint as the context knows it (a pod, here or on another node). */
export interface KnownEndpoint {
  /** The endpoint id on its node; only local endpoints' ids are reported. */
  id: number;
  local: boolean;
  namespace: string;
  pod: string;
  labels: Record<string, string>;
  /** The decoder's cache of this endpoint's Flow views, by identity. */
  flowEndpoints?: Map<number, FlowEndpoint>;
}

/** The policy rule behind a policy verdict. */
export interface RuleInfo {
  policy: PolicyRef;
  /** Hubble's policy_match_type: 1 L3 only, 2 L3+L4, 3 L4 only, 4 all, 5 L3+proto, 6 proto. */
  matchType: number;
}

export type InterfaceKind = "endpoint" | "network" | "overlay";

export interface FlowContext {
  nodeName: string;
  cluster: string;
  /** Wall-clock ns minus boot-time ns (bootToWallNs()). */
  bootToWallNs: bigint;
  /** Changes whenever identities or endpoints change (cached views are then stale). */
  readonly generation: number;
  endpointByIp(ip: string): KnownEndpoint | undefined;
  /** `source:key=value` labels of a security identity. */
  identityLabels(identity: number): string[];
  rule(id: number): RuleInfo | undefined;
  /** The service a frontend (address, port, IANA protocol) belongs to. */
  serviceAt(ip: string, port: number, protocol: number): ServiceRef | undefined;
  interfaceKind(ifindex: number): InterfaceKind | undefined;
}

const PROTO = { ICMP: 1, TCP: 6, UDP: 17, ICMPV6: 58, SCTP: 132 } as const;
/** Entries of each decoder cache before it is emptied. */
const CACHE_LIMIT = 65_536;

const OBS_NAMES: Record<number, TraceObservationPoint> = {
  [OBS_POINT.UNKNOWN]: "UNKNOWN_POINT",
  [OBS_POINT.TO_ENDPOINT]: "TO_ENDPOINT",
  [OBS_POINT.FROM_ENDPOINT]: "FROM_ENDPOINT",
  [OBS_POINT.FROM_NETWORK]: "FROM_NETWORK",
  [OBS_POINT.TO_NETWORK]: "TO_NETWORK",
  [OBS_POINT.FROM_OVERLAY]: "FROM_OVERLAY",
  [OBS_POINT.TO_OVERLAY]: "TO_OVERLAY",
  [OBS_POINT.FROM_STACK]: "FROM_STACK",
};

// Where an event was seen, as EventLog.where keeps it: POINTS index << 2 | DIRECTIONS index.
const POINTS = TRACE_OBSERVATION_POINTS;
const POINT_CODE = new Map(POINTS.map((p, i) => [p, i]));
const DIRECTIONS: TrafficDirection[] = ["TRAFFIC_DIRECTION_UNKNOWN", "INGRESS", "EGRESS"];
const DIRECTION = { UNKNOWN: 0, INGRESS: 1, EGRESS: 2 } as const;

const TCP_FLAG_BITS: Array<[keyof TcpFlags, number]> = [
  ["FIN", 0x01],
  ["SYN", 0x02],
  ["RST", 0x04],
  ["PSH", 0x08],
  ["ACK", 0x10],
  ["URG", 0x20],
  ["ECE", 0x40],
  ["CWR", 0x80],
];

/** The text of the address at `at` (four network-order words; IPv4 in the first). */
function address(d: DataView, at: number, family: number): string {
  if (family !== 6) {
    return `${d.getUint8(at)}.${d.getUint8(at + 1)}.${d.getUint8(at + 2)}.${d.getUint8(at + 3)}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(d.getUint16(at + i, false));
  return formatV6Groups(groups);
}

function mac(d: DataView, at: number): string {
  return macText(new Uint8Array(d.buffer, d.byteOffset + at, 6));
}

const TCP_FLAGS: TcpFlags[] = Array.from({ length: 256 }, (_, bits) => {
  const out: TcpFlags = {};
  for (const [name, bit] of TCP_FLAG_BITS) if (bits & bit) out[name] = true;
  return Object.freeze(out);
});
const EVENT_TYPES: Array<{ type: number }> = [];

/** The fields of a struct flow_event a Flow is made from. */
interface RawEvent {
  type: number;
  verdict: number;
  flags: number;
  dropReason: number;
  family: number;
  proto: number;
  tcpFlags: number;
  icmpType: number;
  icmpCode: number;
  sport: number;
  dport: number;
  packets: number;
  bytes: number;
}

function readEvent(d: DataView, o: number): RawEvent {
  return {
    type: d.getUint8(o + O.type),
    verdict: d.getUint8(o + O.verdict),
    flags: d.getUint8(o + O.flags),
    dropReason: d.getUint16(o + O.drop_reason, true),
    family: d.getUint8(o + O.family),
    proto: d.getUint8(o + O.proto),
    tcpFlags: d.getUint8(o + O.tcp_flags),
    icmpType: d.getUint8(o + O.icmp_type),
    icmpCode: d.getUint8(o + O.icmp_code),
    sport: d.getUint16(o + O.sport, false),
    dport: d.getUint16(o + O.dport, false),
    packets: Number(d.getBigUint64(o + O.packets, true)),
    bytes: Number(d.getBigUint64(o + O.bytes, true)),
  };
}

/** A workload from a pod's labels and name (Hubble's workloads; owners are not known here). */
export function workloadOf(pod: string, labels: Record<string, string>) {
  if (labels["pod-template-hash"]) {
    const owner = pod.replace(new RegExp(`-${labels["pod-template-hash"]}-[a-z0-9]+$`), "");
    return { name: owner, kind: "Deployment" };
  }
  if (labels["statefulset.kubernetes.io/pod-name"]) {
    return { name: pod.replace(/-\d+$/, ""), kind: "StatefulSet" };
  }
  if (labels["controller-revision-hash"]) {
    return { name: pod.replace(/-[a-z0-9]{5}$/, ""), kind: "DaemonSet" };
  }
  const app = labels["app.kubernetes.io/name"] ?? labels["app"];
  return { name: app ?? pod, kind: app ? "App" : "Pod" };
}

export class FlowDecoder {
  readonly #ctx: FlowContext;
  readonly #nodeName: string;
  #scratch: EventLog | undefined;
  /** Events captured; uuids are `${#uuidPrefix}${seq as 12 hex digits}`. */
  #seq = 0;
  readonly #uuidPrefix = crypto.randomUUID().slice(0, 24);
  /** Non-endpoint peers (world, host, CIDRs) by identity, for the context's generation. */
  readonly #endpoints = new Map<number, FlowEndpoint>();
  #generation = -1;
  #second = -1n;
  #secondText = "";
  readonly #ipv4 = new Map<number, string>();
  readonly #ips = new Map<string, NonNullable<Flow["IP"]>>();
  readonly #macs = new Map<number, Map<number, NonNullable<Flow["ethernet"]>>>();
  readonly #summaries = new Map<number, string>();

  constructor(ctx: FlowContext) {
    this.#ctx = ctx;
    this.#nodeName = ctx.cluster ? `${ctx.cluster}/${ctx.nodeName}` : ctx.nodeName;
  }

  /** A Flow from one ring buffer record; throws on a record of the wrong size. */
  decode(record: Uint8Array): Flow {
    const scratch = this.#scratch ??= new EventLog(1);
    this.capture(record, scratch, 0);
    return this.materialize(scratch, 0);
  }

  /**
   * Copies a ring buffer record into a slot of `log` with what the node's state says about it
   * now (endpoints, policy rule, service, where it was seen): enough to make its Flow later,
   * after pods or policies changed. Allocates nothing for IPv4 events whose peers are known.
   * Throws on a record of the wrong size.
   */
  capture(record: Uint8Array, log: EventLog, slot: number): void {
    if (record.length < EVENT_SIZE) {
      throw new RangeError(`flow event of ${record.length} bytes, want ${EVENT_SIZE}`);
    }
    const o = log.offset(slot);
    log.bytes.set(record.length === EVENT_SIZE ? record : record.subarray(0, EVENT_SIZE), o);
    const d = log.view;
    const ctx = this.#ctx;
    const family = d.getUint8(o + O.family);
    const type = d.getUint8(o + O.type);
    const verdict = d.getUint8(o + O.verdict);
    const srcEp = family ? ctx.endpointByIp(this.#address(d, o + O.saddr, family)) : undefined;
    const dstEp = family ? ctx.endpointByIp(this.#address(d, o + O.daddr, family)) : undefined;
    log.source[slot] = this.#endpoint(srcEp, d.getUint32(o + O.src_identity, true));
    log.destination[slot] = this.#endpoint(dstEp, d.getUint32(o + O.dst_identity, true));
    log.where[slot] = this.#where(d, o, srcEp, dstEp);
    const rule = d.getUint32(o + O.rule, true);
    log.rule[slot] = type === FLOW_EVENT_TYPE.POLICY && rule ? ctx.rule(rule) : undefined;
    log.service[slot] = verdict === FLOW_VERDICT.TRANSLATED && family
      ? ctx.serviceAt(
        this.#address(d, o + O.orig_daddr, family),
        d.getUint16(o + O.orig_dport, false),
        d.getUint8(o + O.proto),
      )
      : undefined;
    log.seq[slot] = ++this.#seq;
  }

  /** The Flow of a captured event (a new object each time; equal for the same slot). */
  materialize(log: EventLog, slot: number): Flow {
    const d = log.view;
    const o = log.offset(slot);
    const e = readEvent(d, o);
    const where = log.where[slot]!;
    const flow: Flow = {
      time: this.#time(d.getBigUint64(o + O.time, true)),
      uuid: this.#uuid(log.seq[slot]!),
      verdict: VERDICT_BY_CODE[e.verdict] ?? "ERROR",
      ethernet: this.#ethernet(d, o + O.eth),
      source: log.source[slot]!,
      destination: log.destination[slot]!,
      Type: "L3_L4",
      node_name: this.#nodeName,
      event_type: EVENT_TYPES[e.type] ??= Object.freeze({ type: e.type }),
      traffic_direction: DIRECTIONS[where & 3]!,
      trace_observation_point: POINTS[where >> 2]!,
      is_reply: (e.flags & FLOW_F.REPLY) !== 0,
      Summary: "",
    };
    if (e.family) {
      flow.IP = this.#ip(
        this.#address(d, o + O.saddr, e.family),
        this.#address(d, o + O.daddr, e.family),
        e.family,
      );
      const l4 = layer4(e);
      if (l4) flow.l4 = l4;
    }
    if (e.type === FLOW_EVENT_TYPE.DROP) {
      flow.drop_reason = e.dropReason;
      flow.drop_reason_desc = dropReasonName(e.dropReason);
    }
    if (e.type === FLOW_EVENT_TYPE.POLICY) policy(flow, e, log.rule[slot]);
    if (e.verdict === FLOW_VERDICT.TRANSLATED && e.family) {
      const service = this.#address(d, o + O.orig_daddr, e.family);
      flow.IP = { ...flow.IP!, source_xlated: service }; // not the shared one
      const svc = log.service[slot];
      if (svc) flow.destination_service = svc;
    }
    if (e.flags & (FLOW_F.PERIODIC | FLOW_F.CLOSE)) {
      flow.packets = e.packets;
      flow.bytes = e.bytes;
    }
    flow.Summary = this.#summary(flow, e);
    return flow;
  }

  /** A uuid per event: this decoder's random prefix, then the event's sequence number. */
  #uuid(seq: number): string {
    return this.#uuidPrefix + seq.toString(16).padStart(12, "0");
  }

  // Caches of the strings and objects flows share (the same pods, addresses and flag sets recur
  // all the time): each is bounded, and simply emptied when full.

  #address(d: DataView, at: number, family: number): string {
    if (family === 6) return address(d, at, family);
    const w = d.getUint32(at, true);
    let text = this.#ipv4.get(w);
    if (text === undefined) {
      if (this.#ipv4.size >= CACHE_LIMIT) this.#ipv4.clear();
      this.#ipv4.set(w, text = address(d, at, family));
    }
    return text;
  }

  #ip(source: string, destination: string, family: number): NonNullable<Flow["IP"]> {
    const key = `${source} ${destination}`;
    let ip = this.#ips.get(key);
    if (!ip) {
      if (this.#ips.size >= CACHE_LIMIT) this.#ips.clear();
      ip = Object.freeze({ source, destination, ipVersion: family === 6 ? "IPv6" : "IPv4" });
      this.#ips.set(key, ip);
    }
    return ip;
  }

  #ethernet(d: DataView, at: number): NonNullable<Flow["ethernet"]> {
    // both MACs as exact integers (48 bits each)
    const dst = d.getUint32(at) * 0x10000 + d.getUint16(at + 4);
    const src = d.getUint32(at + 6) * 0x10000 + d.getUint16(at + 10);
    let bySrc = this.#macs.get(dst);
    if (!bySrc) {
      if (this.#macs.size >= CACHE_LIMIT) this.#macs.clear();
      this.#macs.set(dst, bySrc = new Map());
    }
    let eth = bySrc.get(src);
    if (!eth) {
      eth = Object.freeze({ source: mac(d, at + 6), destination: mac(d, at) });
      bySrc.set(src, eth);
    }
    return eth;
  }

  #summary(flow: Flow, e: RawEvent): string {
    // the common case (no counts, policy, service or drop) depends on the L4 header alone
    const plain = flow.packets === undefined && e.type === FLOW_EVENT_TYPE.TRACE &&
      !flow.destination_service;
    if (!plain) return summary(flow, e);
    const key = (e.proto << 24) | (e.tcpFlags << 16) | (e.icmpType << 8) | e.icmpCode;
    let text = this.#summaries.get(key);
    if (text === undefined) {
      if (this.#summaries.size >= CACHE_LIMIT) this.#summaries.clear();
      this.#summaries.set(key, text = summary(flow, e));
    }
    return text;
  }

  /** RFC 3339 of a boot-time stamp; the text up to the second is reused within a second. */
  #time(bootNs: bigint): string {
    const ns = bootNs + this.#ctx.bootToWallNs;
    const second = ns / 1_000_000_000n;
    if (second !== this.#second) {
      this.#second = second;
      this.#secondText = new Date(Number(second) * 1000).toISOString().slice(0, 19);
    }
    return `${this.#secondText}.${(ns % 1_000_000_000n).toString().padStart(9, "0")}Z`;
  }

  /**
   * The Flow's view of an endpoint. Flows share these objects (and event types and TCP flag
   * sets): a stored flow is read-only, and sharing keeps a full store cheap for the collector.
   */
  #endpoint(ep: KnownEndpoint | undefined, identity: number): FlowEndpoint {
    const generation = this.#ctx.generation;
    if (generation !== this.#generation) {
      this.#endpoints.clear();
      this.#generation = generation;
    }
    const byIdentity = ep ? ep.flowEndpoints ??= new Map() : this.#endpoints;
    let out = byIdentity.get(identity);
    if (out) return out;
    out = { ID: ep?.local ? ep.id : 0, identity, labels: this.#ctx.identityLabels(identity) };
    if (ep) {
      out.cluster_name = this.#ctx.cluster;
      out.namespace = ep.namespace;
      out.pod_name = ep.pod;
      out.workloads = [workloadOf(ep.pod, ep.labels)];
    }
    byIdentity.set(identity, out);
    return out;
  }

  /** Where the event was seen (EventLog.where: observation point and traffic direction). */
  #where(
    d: DataView,
    o: number,
    src: KnownEndpoint | undefined,
    dst: KnownEndpoint | undefined,
  ): number {
    const obsPoint = d.getUint8(o + O.obs_point);
    const flags = d.getUint8(o + O.flags);
    let point = OBS_NAMES[obsPoint] ?? "UNKNOWN_POINT";
    if (obsPoint === OBS_POINT.HOOK_INGRESS || obsPoint === OBS_POINT.HOOK_EGRESS) {
      // a drop: the hook's interface tells where (a pod's veth ingress is the pod sending)
      const kind = this.#ctx.interfaceKind(d.getUint32(o + O.ifindex, true)) ?? "network";
      const ingress = obsPoint === OBS_POINT.HOOK_INGRESS;
      point = kind === "endpoint"
        ? (ingress ? "FROM_ENDPOINT" : "TO_ENDPOINT")
        : kind === "overlay"
        ? (ingress ? "FROM_OVERLAY" : "TO_OVERLAY")
        : (ingress ? "FROM_NETWORK" : "TO_NETWORK");
    }
    let direction: number = DIRECTION.UNKNOWN;
    if (flags & FLOW_F.INGRESS) direction = DIRECTION.INGRESS;
    else if (flags & FLOW_F.EGRESS) direction = DIRECTION.EGRESS;
    else if (point === "FROM_ENDPOINT" || (src?.local && !dst?.local)) {
      direction = DIRECTION.EGRESS;
    } else if (point === "TO_ENDPOINT" || dst?.local) direction = DIRECTION.INGRESS;
    return (POINT_CODE.get(point)! << 2) | direction;
  }
}

function policy(flow: Flow, e: RawEvent, info: RuleInfo | undefined): void {
  flow.policy_match_type = info?.matchType ?? 0;
  if (!info) return;
  const ingress = (e.flags & FLOW_F.INGRESS) !== 0;
  const denied = e.verdict === FLOW_VERDICT.DROPPED || e.verdict === FLOW_VERDICT.AUDIT;
  const key = denied
    ? (ingress ? "ingress_denied_by" : "egress_denied_by")
    : (ingress ? "ingress_allowed_by" : "egress_allowed_by");
  flow[key] = [info.policy];
}

function layer4(e: RawEvent): Layer4 | undefined {
  switch (e.proto) {
    case PROTO.TCP:
      return {
        TCP: { source_port: e.sport, destination_port: e.dport, flags: TCP_FLAGS[e.tcpFlags]! },
      };
    case PROTO.UDP:
      return { UDP: { source_port: e.sport, destination_port: e.dport } };
    case PROTO.SCTP:
      return { SCTP: { source_port: e.sport, destination_port: e.dport } };
    case PROTO.ICMP:
      return { ICMPv4: { type: e.icmpType, code: e.icmpCode } };
    case PROTO.ICMPV6:
      return { ICMPv6: { type: e.icmpType, code: e.icmpCode } };
    default:
      return undefined;
  }
}

function summary(flow: Flow, e: RawEvent): string {
  // Hubble's own summary (TCP flags, ICMP type...), then what this event adds
  const parts: string[] = [hubbleSummary(flow)];
  if (flow.drop_reason_desc && flow.l4) parts.push(`dropped: ${flow.drop_reason_desc}`);
  if (e.type === FLOW_EVENT_TYPE.POLICY) {
    const by = flow.ingress_allowed_by ?? flow.egress_allowed_by ?? flow.ingress_denied_by ??
      flow.egress_denied_by;
    const policy = by?.[0] ? ` by ${by[0].kind} ${by[0].namespace ?? ""}/${by[0].name}` : "";
    parts.push(`policy ${flow.verdict.toLowerCase()}${policy || " by default"}`);
  }
  if (flow.destination_service) {
    const s = flow.destination_service;
    parts.push(`service ${s.namespace}/${s.name} (${flow.IP!.source_xlated})`);
  }
  if (e.flags & FLOW_F.CLOSE) parts.push("closed");
  if (e.flags & FLOW_F.PERIODIC) parts.push("report");
  if (flow.packets !== undefined) parts.push(`${flow.packets} packets, ${flow.bytes} bytes`);
  return parts.join("; ");
}
