// Flow filters with Hubble's semantics (flow.proto FlowFilter, `hubble observe` flags):
//
// - Within one field, values OR: `verdict: ["DROPPED", "ERROR"]`.
// - Different fields of one filter AND: `{ verdict: ["DROPPED"], to_port: ["80"] }`.
// - A set of filters: a flow passes when any `allow` filter matches (or there is none) and no
//   `deny` filter matches (Hubble's whitelist/blacklist; `--not` on the CLI).
// - The either-side fields (`pod`, `namespace`, `label`, `ip`, `port`) hold together on ONE side:
//   a filter with `pod: ["shop/web"], port: ["80"]` matches when the source is shop/web on port
//   80, or the destination is. This is what Hubble's CLI builds for them (a source-side filter
//   OR a destination-side one), so `--pod shop/web --port 80` means the same here.
// - Pods are `[namespace/]<pod name prefix>`: "shop/web" matches shop/web-7d9f..., "shop/"
//   every pod of shop, and a bare name the pod in namespace "default" (Hubble's documented rule)
//   — or, when the same side has namespaces (`--namespace`, `--from-namespace`), in those.
//   A flow endpoint without namespace and pod name matches no pod filter.
// - Labels are Kubernetes selectors (core/flows/label_selector.ts) over the endpoint's labels.
// - IPs are addresses or CIDRs; ports are 1-65535 (TCP, UDP and SCTP carry ports, ICMP none).
// - Node names are globs (`*` matches any run of characters), matched in linear time (glob.ts).
//
// Filters come from clients (the API, flow peers), and a query runs them over every stored flow,
// so the work per flow is bounded by construction: no regular expression is built from a value,
// every value is at most MAX_FILTER_VALUE_LENGTH characters, a filter set holds at most
// MAX_FILTER_VALUES values and MAX_LABEL_REQUIREMENTS label requirements, and every check is a
// set lookup, a prefix comparison, a CIDR test or a linear glob match.
import { Cidr, parseCidrOrReason } from "../ipam/cidr.ts";
import { type Ip, parseIpOrReason } from "../ipam/ip.ts";
import { dnsLabelProblem } from "../policy/parse/names.ts";
import {
  EVENT_TYPES,
  type EventTypeName,
  eventTypeName,
  type Flow,
  type FlowEndpoint,
  TRACE_OBSERVATION_POINTS,
  type TraceObservationPoint,
  type Verdict,
  VERDICTS,
} from "./flow.ts";
import { Glob } from "./glob.ts";
import { type LabelSelector, matchesLabels, parseLabelSelector } from "./label_selector.ts";

/** One filter: every present field must match (see the header). JSON-safe, like Hubble's. */
export interface FlowFilter {
  source_pod?: string[];
  destination_pod?: string[];
  pod?: string[];
  source_namespace?: string[];
  destination_namespace?: string[];
  namespace?: string[];
  source_label?: string[];
  destination_label?: string[];
  label?: string[];
  source_ip?: string[];
  destination_ip?: string[];
  ip?: string[];
  source_port?: string[];
  destination_port?: string[];
  port?: string[];
  verdict?: string[];
  /** trace, drop, policy-verdict, l7, sock; `trace:to-endpoint` also matches the point. */
  event_type?: string[];
  /** tcp, udp, sctp, icmp (v4 or v6), icmpv4, icmpv6. */
  protocol?: string[];
  /** Node names; `*` matches any run of characters. */
  node_name?: string[];
  /** ingress or egress. */
  traffic_direction?: string[];
}

export type FlowFilterField = keyof FlowFilter;

/** Filters that allow and filters that deny (Hubble's whitelist and blacklist). */
export interface FlowFilterSet {
  allow?: FlowFilter[];
  deny?: FlowFilter[];
}

export type FlowPredicate = (flow: Flow) => boolean;

/** The CLI flag (and API query parameter) of each field. */
export const FILTER_FLAGS: Readonly<Record<FlowFilterField, string>> = {
  source_pod: "from-pod",
  destination_pod: "to-pod",
  pod: "pod",
  source_namespace: "from-namespace",
  destination_namespace: "to-namespace",
  namespace: "namespace",
  source_label: "from-label",
  destination_label: "to-label",
  label: "label",
  source_ip: "from-ip",
  destination_ip: "to-ip",
  ip: "ip",
  source_port: "from-port",
  destination_port: "to-port",
  port: "port",
  verdict: "verdict",
  event_type: "type",
  protocol: "protocol",
  node_name: "node-name",
  traffic_direction: "traffic-direction",
};

export const PROTOCOLS = ["tcp", "udp", "sctp", "icmp", "icmpv4", "icmpv6"] as const;
export const TRAFFIC_DIRECTIONS = ["ingress", "egress"] as const;
const OBSERVATION_POINTS: readonly TraceObservationPoint[] = TRACE_OBSERVATION_POINTS.filter(
  (p) => p !== "UNKNOWN_POINT",
);

/** The longest filter value (a pod prefix, a label selector, a node name pattern, ...). */
export const MAX_FILTER_VALUE_LENGTH = 256;
/** The most values in one filter set (every field, allow and deny filters together). */
export const MAX_FILTER_VALUES = 64;
/** The most label requirements (`k=v` terms of label selectors) in one filter set. */
export const MAX_LABEL_REQUIREMENTS = 64;

/** A bad filter value: names the flag (`field`) and says why. */
export class FlowFilterError extends Error {
  override name = "FlowFilterError";
  readonly field: string;
  constructor(field: string, readonly value: string, reason: string) {
    const f = clip(field) || "query";
    super(`Invalid --${f} ${quote(value)}: ${reason}`);
    this.field = f;
  }
}

/** A value as error messages show it: quoted, and cut when long (it came from a client). */
function quote(value: string): string {
  return value.length <= 64
    ? `"${value}"`
    : `"${value.slice(0, 48)}..." (${value.length} characters)`;
}

function clip(text: string): string {
  return text.length <= 64 ? text : `${text.slice(0, 48)}...`;
}

/** Counts what a filter set holds against the caps above while it is compiled. */
class Budget {
  values = 0;
  requirements = 0;

  value(field: FlowFilterField, v: string): void {
    if (typeof v !== "string") {
      throw new FlowFilterError(FILTER_FLAGS[field], String(v), "must be a string");
    }
    if (v.length > MAX_FILTER_VALUE_LENGTH) {
      throw new FlowFilterError(
        FILTER_FLAGS[field],
        v,
        `must be at most ${MAX_FILTER_VALUE_LENGTH} characters`,
      );
    }
    if (++this.values > MAX_FILTER_VALUES) {
      throw new FlowFilterError(
        FILTER_FLAGS[field],
        v,
        `too many filter values: at most ${MAX_FILTER_VALUES} in one query (all flags together)`,
      );
    }
  }

  selector(field: FlowFilterField, v: string, s: LabelSelector): void {
    this.requirements += s.length;
    if (this.requirements > MAX_LABEL_REQUIREMENTS) {
      throw new FlowFilterError(
        FILTER_FLAGS[field],
        v,
        `too many label requirements: at most ${MAX_LABEL_REQUIREMENTS} in one query`,
      );
    }
  }
}

/** A predicate for a filter set; throws FlowFilterError naming the first bad value. */
export function compileFilters(set: FlowFilterSet): FlowPredicate {
  const budget = new Budget();
  const compile = (f: FlowFilter) => compileWithin(f, budget);
  const allow = (set.allow ?? []).filter((f) => !isEmpty(f)).map(compile);
  const deny = (set.deny ?? []).filter((f) => !isEmpty(f)).map(compile);
  if (!allow.length && !deny.length) return () => true;
  return (flow) => {
    if (allow.length && !allow.some((p) => p(flow))) return false;
    return !deny.some((p) => p(flow));
  };
}

export function isEmpty(f: FlowFilter): boolean {
  return Object.values(f).every((v) => v === undefined || (Array.isArray(v) && v.length === 0));
}

type Side = "source" | "destination";
type SideCheck = (flow: Flow, side: Side) => boolean;

/** A predicate for one filter; throws FlowFilterError. */
export function compileFilter(f: FlowFilter): FlowPredicate {
  return compileWithin(f, new Budget());
}

/** compileFilter(), counting against the caps of the set the filter belongs to. */
function compileWithin(f: FlowFilter, budget: Budget): FlowPredicate {
  const checks: FlowPredicate[] = [];
  const either: SideCheck[] = [];
  for (const [field, values] of Object.entries(f)) {
    if (values === undefined) continue;
    if (!(field in FILTER_FLAGS)) {
      throw new FlowFilterError(field, "", "is not a filter field");
    }
    if (!Array.isArray(values)) {
      throw new FlowFilterError(FILTER_FLAGS[field as FlowFilterField], "", "must be a list");
    }
    for (const v of values) budget.value(field as FlowFilterField, v);
  }
  const list = (field: FlowFilterField) => (f[field]?.length ? f[field] : undefined);
  const selector = (field: FlowFilterField, v: string): LabelSelector => {
    const s = parseLabelSelector(v);
    if (typeof s === "string") throw new FlowFilterError(FILTER_FLAGS[field], v, s);
    budget.selector(field, v, s);
    return s;
  };

  // Namespaces and pods, per side.
  const sides: Array<[Side, FlowFilterField, FlowFilterField]> = [
    ["source", "source_pod", "source_namespace"],
    ["destination", "destination_pod", "destination_namespace"],
  ];
  for (const [side, podField, nsField] of sides) {
    const nss = list(nsField);
    if (nss) nss.forEach((n) => checkNamespace(nsField, n));
    const pods = list(podField);
    if (pods && !nss && list("namespace")) {
      const bare = pods.find((p) => !p.includes("/"));
      if (bare !== undefined) {
        throw new FlowFilterError(
          FILTER_FLAGS[podField],
          bare,
          `has no namespace and --namespace is set: write NAMESPACE/${bare}, or use ` +
            `--${FILTER_FLAGS[nsField]}`,
        );
      }
    }
    const check = endpointMatcher(podField, pods, nss);
    if (check) checks.push((flow) => check(flow[side]));
  }
  const nss = list("namespace");
  if (nss) nss.forEach((n) => checkNamespace("namespace", n));
  const check = endpointMatcher("pod", list("pod"), nss);
  if (check) either.push((flow, side) => check(flow[side]));

  // Labels.
  for (
    const [field, side] of [["source_label", "source"], [
      "destination_label",
      "destination",
    ]] as const
  ) {
    const sels = list(field)?.map((v) => selector(field, v));
    if (sels) checks.push((flow) => sels.some((s) => matchesLabels(s, flow[side].labels ?? [])));
  }
  const labelSels = list("label")?.map((v) => selector("label", v));
  if (labelSels) {
    either.push((flow, side) => labelSels.some((s) => matchesLabels(s, flow[side].labels ?? [])));
  }

  // Addresses.
  for (
    const [field, side] of [["source_ip", "source"], ["destination_ip", "destination"]] as const
  ) {
    const m = list(field) && ipMatcher(field, list(field)!);
    if (m) checks.push((flow) => m(side === "source" ? flow.IP?.source : flow.IP?.destination));
  }
  const anyIp = list("ip") && ipMatcher("ip", list("ip")!);
  if (anyIp) {
    either.push((flow, side) => anyIp(side === "source" ? flow.IP?.source : flow.IP?.destination));
  }

  // Ports.
  for (
    const [field, side] of [["source_port", "source"], ["destination_port", "destination"]] as const
  ) {
    const ports = list(field) && portSet(field, list(field)!);
    if (ports) checks.push((flow) => ports.has(portOf(flow, side) ?? -1));
  }
  const anyPort = list("port") && portSet("port", list("port")!);
  if (anyPort) either.push((flow, side) => anyPort.has(portOf(flow, side) ?? -1));

  // Fields of the flow as a whole.
  const verdicts = list("verdict")?.map((v) => verdictOf(v));
  if (verdicts) {
    const set = new Set<string>(verdicts);
    checks.push((flow) => set.has(flow.verdict));
  }
  const types = list("event_type")?.map((v) => eventType(v));
  if (types) {
    checks.push((flow) =>
      types.some((t) =>
        eventTypeName(flow) === t.name &&
        (t.point === undefined || flow.trace_observation_point === t.point)
      )
    );
  }
  const protocols = list("protocol")?.map((v) => protocol(v));
  if (protocols) {
    const set = new Set<string>(protocols.flatMap((p) => PROTOCOL_L4_KEYS[p]));
    checks.push((flow) => flow.l4 !== undefined && set.has(Object.keys(flow.l4)[0]!));
  }
  const nodes = list("node_name") && nodeMatcher(list("node_name")!);
  if (nodes) checks.push((flow) => nodes(flow.node_name));
  const directions = list("traffic_direction")?.map((v) => direction(v));
  if (directions) {
    const set = new Set<string>(directions.map((d) => d.toUpperCase()));
    checks.push((flow) => set.has(flow.traffic_direction));
  }

  return (flow) => {
    for (const c of checks) if (!c(flow)) return false;
    if (!either.length) return true;
    return either.every((c) => c(flow, "source")) || either.every((c) => c(flow, "destination"));
  };
}

const PROTOCOL_L4_KEYS: Readonly<Record<typeof PROTOCOLS[number], string[]>> = {
  tcp: ["TCP"],
  udp: ["UDP"],
  sctp: ["SCTP"],
  icmp: ["ICMPv4", "ICMPv6"],
  icmpv4: ["ICMPv4"],
  icmpv6: ["ICMPv6"],
};

function checkNamespace(field: FlowFilterField, ns: string): void {
  if (dnsLabelProblem(ns)) {
    throw new FlowFilterError(
      FILTER_FLAGS[field],
      ns,
      "must be a namespace name (lowercase letters, digits and '-')",
    );
  }
}

/** An endpoint in one of `nss` (when given) and matching one of `pods` (when given). */
function endpointMatcher(
  podField: FlowFilterField,
  pods: string[] | undefined,
  nss: string[] | undefined,
): ((ep: FlowEndpoint) => boolean) | undefined {
  if (!pods && !nss) return undefined;
  const podCheck = pods ? podMatcher(podField, pods, nss) : undefined;
  const nsSet = nss ? new Set(nss) : undefined;
  return (ep) => (!nsSet || nsSet.has(ep.namespace ?? "")) && (!podCheck || podCheck(ep));
}

function podMatcher(
  field: FlowFilterField,
  values: string[],
  namespaces: string[] | undefined,
): (ep: FlowEndpoint) => boolean {
  const byNs = new Map<string, string[]>(); // namespace -> pod name prefixes
  const add = (ns: string, prefix: string) => {
    const prefixes = byNs.get(ns);
    if (!prefixes) byNs.set(ns, [prefix]);
    else if (!prefixes.includes(prefix)) prefixes.push(prefix);
  };
  for (const v of values) {
    const parts = v.split("/");
    if (v === "" || parts.length > 2 || (parts.length === 2 && parts[0] === "")) {
      throw new FlowFilterError(
        FILTER_FLAGS[field],
        v,
        "must be [namespace/]<pod name prefix>, e.g. shop/web or web (namespace default)",
      );
    }
    if (parts.length === 2) {
      const ns = parts[0]!;
      checkNamespace(field, ns);
      if (namespaces && !namespaces.includes(ns)) {
        throw new FlowFilterError(
          FILTER_FLAGS[field],
          v,
          `namespace "${ns}" conflicts with the namespaces given (${namespaces.join(", ")})`,
        );
      }
      add(ns, parts[1]!);
    } else {
      for (const ns of namespaces ?? ["default"]) add(ns, v);
    }
  }
  return (ep) => {
    const ns = ep.namespace ?? "";
    const name = ep.pod_name ?? "";
    if (ns === "" && name === "") return false;
    const prefixes = byNs.get(ns);
    return prefixes !== undefined && prefixes.some((p) => name.startsWith(p));
  };
}

function ipMatcher(field: FlowFilterField, values: string[]): (ip: string | undefined) => boolean {
  const cidrs: Cidr[] = [];
  for (const v of values) {
    const c = v.includes("/") ? parseCidrOrReason(v) : parseIpOrReason(v);
    if (typeof c === "string") {
      throw new FlowFilterError(FILTER_FLAGS[field], v, `must be an IP address or a CIDR: ${c}`);
    }
    cidrs.push("prefixLength" in c ? c : new Cidr(c, c.bits));
  }
  // Flows repeat their addresses: remember parsed ones (bounded).
  const cache = new Map<string, Ip | null>();
  return (text) => {
    if (text === undefined) return false;
    let ip = cache.get(text);
    if (ip === undefined) {
      const parsed = parseIpOrReason(text);
      ip = typeof parsed === "string" ? null : parsed;
      if (cache.size >= 4096) cache.clear();
      cache.set(text, ip);
    }
    return ip !== null && cidrs.some((c) => c.contains(ip));
  };
}

function portSet(field: FlowFilterField, values: string[]): Set<number> {
  return new Set(values.map((v) => {
    const n = /^\d{1,5}$/.test(v) ? Number(v) : NaN;
    if (!(n >= 1 && n <= 65535)) {
      throw new FlowFilterError(FILTER_FLAGS[field], v, "must be a port number from 1 to 65535");
    }
    return n;
  }));
}

function portOf(flow: Flow, side: Side): number | undefined {
  const l4 = flow.l4;
  if (!l4) return undefined;
  const ports = "TCP" in l4 ? l4.TCP : "UDP" in l4 ? l4.UDP : "SCTP" in l4 ? l4.SCTP : undefined;
  if (!ports) return undefined;
  return side === "source" ? ports.source_port : ports.destination_port;
}

function verdictOf(v: string): Verdict {
  const upper = v.toUpperCase();
  if ((VERDICTS as readonly string[]).includes(upper)) return upper as Verdict;
  throw new FlowFilterError("verdict", v, `must be one of ${VERDICTS.join(", ")}`);
}

function eventType(v: string): { name: EventTypeName; point?: TraceObservationPoint } {
  const [name, sub] = v.toLowerCase().split(":", 2) as [string, string | undefined];
  if (!(EVENT_TYPES as readonly string[]).includes(name)) {
    throw new FlowFilterError("type", v, `must be one of ${EVENT_TYPES.join(", ")}`);
  }
  if (sub === undefined) return { name: name as EventTypeName };
  const point = OBSERVATION_POINTS.find((p) => p.toLowerCase().replaceAll("_", "-") === sub);
  if (name !== "trace" || !point) {
    throw new FlowFilterError(
      "type",
      v,
      `only trace takes a sub-type, one of ${
        OBSERVATION_POINTS.map((p) => `trace:${p.toLowerCase().replaceAll("_", "-")}`).join(", ")
      }`,
    );
  }
  return { name: "trace", point };
}

function protocol(v: string): typeof PROTOCOLS[number] {
  const lower = v.toLowerCase();
  if ((PROTOCOLS as readonly string[]).includes(lower)) return lower as typeof PROTOCOLS[number];
  throw new FlowFilterError("protocol", v, `must be one of ${PROTOCOLS.join(", ")}`);
}

/** Node names matching one of the glob `patterns`; a store's flows carry few distinct names, so
 * answers are remembered (bounded). */
function nodeMatcher(patterns: string[]): (name: string) => boolean {
  const globs = patterns.map((v) => {
    if (v === "" || /\s/.test(v)) {
      throw new FlowFilterError("node-name", v, "must be a node name (* matches any characters)");
    }
    return new Glob(v);
  });
  const cache = new Map<string, boolean>();
  return (name) => {
    let hit = cache.get(name);
    if (hit === undefined) {
      hit = globs.some((g) => g.matches(name));
      if (cache.size >= 1024) cache.clear();
      cache.set(name, hit);
    }
    return hit;
  };
}

function direction(v: string): typeof TRAFFIC_DIRECTIONS[number] {
  const lower = v.toLowerCase();
  if ((TRAFFIC_DIRECTIONS as readonly string[]).includes(lower)) {
    return lower as typeof TRAFFIC_DIRECTIONS[number];
  }
  throw new FlowFilterError("traffic-direction", v, "must be ingress or egress");
}
