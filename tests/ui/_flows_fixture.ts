// Realistic flows for the UI tests without a lab, in the shape core/flows/flow.ts defines: three
// namespaces (shop, ops, kube-system), the world and the host; forwarded request/reply pairs, a
// service translation, drops by policy and an audited would-be drop.
import type { Flow, FlowEndpoint, Layer4, Verdict } from "../../core/flows/flow.ts";

export function pod(ns: string, name: string, app: string, identity: number, id = 0): FlowEndpoint {
  return {
    ID: id,
    identity,
    cluster_name: "default",
    namespace: ns,
    labels: [`k8s:app=${app}`, `k8s:io.kubernetes.pod.namespace=${ns}`],
    pod_name: name,
  };
}

export const FRONTEND = pod("shop", "frontend-6f7c9-x2x8k", "frontend", 41001, 12);
export const BACKEND = pod("shop", "backend-5d8b4-kq9zt", "backend", 41002, 31);
export const DB = {
  ...pod("shop", "db-0", "db", 41003, 7),
  workloads: [{ name: "db", kind: "StatefulSet" }],
};
export const SCANNER = pod("ops", "scanner-7b6f5-p4m2n", "scanner", 52010, 44);
export const COREDNS = pod("kube-system", "coredns-5d78c-9xk2q", "coredns", 60102);
export const WORLD: FlowEndpoint = { ID: 0, identity: 2, labels: ["reserved:world"] };
export const HOST: FlowEndpoint = { ID: 0, identity: 1, labels: ["reserved:host"] };

const IPS = new Map<FlowEndpoint, string>([
  [FRONTEND, "10.244.1.12"],
  [BACKEND, "10.244.2.31"],
  [DB, "10.244.2.7"],
  [SCANNER, "10.244.1.44"],
  [COREDNS, "10.244.1.3"],
  [WORLD, "203.0.113.50"],
  [HOST, "10.30.0.2"],
]);

const START = Date.parse("2025-05-01T10:00:00Z");
let seq = 0;

/** RFC 3339 with nanoseconds, `ms` after the fixture's start. */
export function at(ms: number): string {
  return new Date(START + ms).toISOString().replace(
    /Z$/,
    `${String(seq % 1000).padStart(3, "0")}421Z`,
  );
}

export interface FlowSpec {
  src: FlowEndpoint;
  dst: FlowEndpoint;
  port: number;
  proto?: "TCP" | "UDP";
  verdict?: Verdict;
  reply?: boolean;
  dropReason?: string;
  ms?: number;
  summary?: string;
  service?: { name: string; namespace: string };
}

export function makeFlow(s: FlowSpec): Flow {
  seq++;
  const proto = s.proto ?? "TCP";
  const sport = s.reply ? s.port : 40000 + seq;
  const dport = s.reply ? 40000 + seq : s.port;
  const l4: Layer4 = proto === "TCP"
    ? {
      TCP: {
        source_port: sport,
        destination_port: dport,
        flags: s.reply ? { SYN: true, ACK: true } : { SYN: true },
      },
    }
    : { UDP: { source_port: sport, destination_port: dport } };
  const verdict = s.verdict ?? "FORWARDED";
  const dropped = verdict === "DROPPED";
  return {
    time: at(s.ms ?? seq * 137),
    uuid: `fixture-${seq}-${crypto.randomUUID()}`,
    verdict,
    ...(dropped ? { drop_reason: 133, drop_reason_desc: s.dropReason ?? "POLICY_DENIED" } : {}),
    IP: {
      source: IPS.get(s.src) ?? "10.0.0.1",
      destination: IPS.get(s.dst) ?? "10.0.0.2",
      ipVersion: "IPv4",
    },
    l4,
    source: s.src,
    destination: s.dst,
    Type: "L3_L4",
    node_name: "n2",
    event_type: { type: dropped ? 1 : 4 },
    traffic_direction: s.reply ? "EGRESS" : "INGRESS",
    trace_observation_point: dropped ? "UNKNOWN_POINT" : "TO_ENDPOINT",
    is_reply: s.reply ?? false,
    ...(s.service ? { destination_service: s.service } : {}),
    Summary: s.summary ??
      `${proto} ${proto === "TCP" ? (s.reply ? "Flags: SYN, ACK" : "Flags: SYN") : ""}`.trim(),
  };
}

/** The fixture: 14 flows over ~2 s. */
export function fixtureFlows(): Flow[] {
  return [
    makeFlow({
      src: FRONTEND,
      dst: COREDNS,
      port: 53,
      proto: "UDP",
      verdict: "TRANSLATED",
      service: { name: "kube-dns", namespace: "kube-system" },
      summary: "UDP DNS query",
    }),
    makeFlow({ src: FRONTEND, dst: COREDNS, port: 53, proto: "UDP" }),
    makeFlow({ src: COREDNS, dst: FRONTEND, port: 53, proto: "UDP", reply: true }),
    makeFlow({ src: FRONTEND, dst: BACKEND, port: 8080 }),
    makeFlow({ src: BACKEND, dst: FRONTEND, port: 8080, reply: true }),
    makeFlow({ src: BACKEND, dst: DB, port: 5432 }),
    makeFlow({ src: DB, dst: BACKEND, port: 5432, reply: true }),
    makeFlow({ src: SCANNER, dst: BACKEND, port: 8080, verdict: "DROPPED" }),
    makeFlow({ src: SCANNER, dst: BACKEND, port: 8080, verdict: "DROPPED" }),
    makeFlow({ src: SCANNER, dst: DB, port: 5432, verdict: "DROPPED" }),
    makeFlow({
      src: FRONTEND,
      dst: WORLD,
      port: 443,
      verdict: "AUDIT",
      summary: "TCP Flags: SYN (policy audit: would be denied)",
    }),
    makeFlow({ src: HOST, dst: BACKEND, port: 8080 }),
    makeFlow({ src: BACKEND, dst: HOST, port: 8080, reply: true }),
    makeFlow({ src: FRONTEND, dst: BACKEND, port: 8080 }),
  ];
}
