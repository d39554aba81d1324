import assert from "node:assert/strict";
import { FLOW_F, type FlowEvent, flowEvent, OBS_POINT } from "../bpf/generated/host.ts";
import { addrWords } from "../datapath/addr.ts";
import { parseIp } from "../ipam/mod.ts";
import { type FlowContext, FlowDecoder, type KnownEndpoint, workloadOf } from "./decode.ts";

const htons = (v: number) => ((v & 255) << 8) | (v >>> 8);
const words = (ip: string) => addrWords(parseIp(ip));

function event(over: Partial<FlowEvent>): FlowEvent {
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

const endpoints: Record<string, KnownEndpoint> = {
  "10.1.0.5": {
    id: 7,
    local: true,
    namespace: "shop",
    pod: "web-5d9c7b8f4-x2k9z",
    labels: { app: "web", "pod-template-hash": "5d9c7b8f4" },
  },
  "10.1.1.9": { id: 3, local: false, namespace: "shop", pod: "db-0", labels: { app: "db" } },
};

const ctx: FlowContext = {
  nodeName: "n1",
  cluster: "lab",
  bootToWallNs: 1_700_000_000_000_000_000n,
  generation: 0,
  endpointByIp: (ip) => endpoints[ip],
  identityLabels: (id) => id === 2 ? ["reserved:world"] : [`k8s:app=${id === 300 ? "web" : "db"}`],
  rule: (id) =>
    id === 4
      ? { policy: { kind: "CiliumNetworkPolicy", namespace: "shop", name: "db-in" }, matchType: 2 }
      : undefined,
  serviceAt: (ip, port, proto) =>
    ip === "10.96.0.10" && port === 80 && proto === 6
      ? { name: "web", namespace: "shop" }
      : undefined,
  interfaceKind: (ifindex) => (ifindex === 12 ? "endpoint" : "network"),
};

function decode(e: FlowEvent) {
  const bytes = new Uint8Array(flowEvent.size);
  flowEvent.encode(e, new DataView(bytes.buffer), 0);
  return new FlowDecoder(ctx).decode(bytes);
}

Deno.test("a new TCP connection decodes with Hubble's field names and both endpoints", () => {
  const f = decode(event({}));
  assert.equal(f.time, "2023-11-14T22:13:25.000000123Z");
  assert.equal(f.verdict, "FORWARDED");
  assert.deepEqual(f.IP, { source: "10.1.0.5", destination: "10.1.1.9", ipVersion: "IPv4" });
  assert.deepEqual(f.l4, {
    TCP: { source_port: 40000, destination_port: 8080, flags: { SYN: true } },
  });
  assert.deepEqual(f.ethernet, { source: "02:00:00:00:00:01", destination: "02:00:00:00:00:02" });
  assert.equal(f.source.ID, 7);
  assert.equal(f.source.pod_name, "web-5d9c7b8f4-x2k9z");
  assert.deepEqual(f.source.workloads, [{ name: "web", kind: "Deployment" }]);
  assert.deepEqual(f.source.labels, ["k8s:app=web"]);
  assert.equal(f.destination.ID, 0, "remote endpoints carry no local id");
  assert.equal(f.destination.namespace, "shop");
  assert.equal(f.traffic_direction, "EGRESS");
  assert.equal(f.trace_observation_point, "FROM_ENDPOINT");
  assert.equal(f.is_reply, false);
  assert.equal(f.node_name, "lab/n1");
  assert.deepEqual(f.event_type, { type: 4 });
  assert.equal(f.Type, "L3_L4");
  assert.equal(f.Summary, "TCP Flags: SYN");
});

Deno.test("a drop names its reason and is placed by the interface it happened on", () => {
  const f = decode(event({
    type: 1,
    verdict: 2,
    drop_reason: 134,
    obs_point: OBS_POINT.HOOK_EGRESS,
    flags: 0,
    saddr: words("10.1.1.9"),
    daddr: words("10.1.0.5"),
  }));
  assert.equal(f.verdict, "DROPPED");
  assert.equal(f.drop_reason, 134);
  assert.equal(f.drop_reason_desc, "POLICY_DENIED");
  assert.equal(f.trace_observation_point, "TO_ENDPOINT", "egress of a pod's veth");
  assert.equal(f.traffic_direction, "INGRESS");
  assert.match(f.Summary, /dropped: POLICY_DENIED/);
  const uplink = decode(
    event({
      type: 1,
      verdict: 2,
      drop_reason: 131,
      ifindex: 2,
      flags: 0,
      obs_point: OBS_POINT.HOOK_INGRESS,
    }),
  );
  assert.equal(uplink.trace_observation_point, "FROM_NETWORK");
});

Deno.test("a policy verdict names the policy and the match type", () => {
  const f = decode(event({ type: 5, verdict: 1, rule: 4, flags: FLOW_F.NEW | FLOW_F.INGRESS }));
  assert.equal(f.policy_match_type, 2);
  assert.deepEqual(f.ingress_allowed_by, [
    { kind: "CiliumNetworkPolicy", namespace: "shop", name: "db-in" },
  ]);
  assert.match(f.Summary, /policy forwarded by CiliumNetworkPolicy shop\/db-in/);
  const denied = decode(event({ type: 5, verdict: 2, rule: 0, flags: FLOW_F.NEW | FLOW_F.EGRESS }));
  assert.equal(denied.policy_match_type, 0);
  assert.equal(denied.egress_denied_by, undefined, "a default deny has no policy to name");
  assert.match(denied.Summary, /policy dropped by default/);
});

Deno.test("a translation carries the service address and the service", () => {
  const f = decode(event({
    verdict: 7,
    obs_point: OBS_POINT.FROM_NETWORK,
    flags: FLOW_F.NEW | FLOW_F.INGRESS,
    orig_daddr: words("10.96.0.10"),
    orig_dport: htons(80),
  }));
  assert.equal(f.verdict, "TRANSLATED");
  assert.equal(f.IP?.source_xlated, "10.96.0.10");
  assert.deepEqual(f.destination_service, { name: "web", namespace: "shop" });
});

Deno.test("IPv6, ICMPv6, periodic reports and replies", () => {
  const f = decode(event({
    family: 6,
    proto: 58,
    icmp_type: 128,
    saddr: words("fd00:10:1::5"),
    daddr: words("2001:db8::1"),
    flags: FLOW_F.PERIODIC | FLOW_F.REPLY | FLOW_F.EGRESS,
    packets: 12n,
    bytes: 1200n,
  }));
  assert.deepEqual(f.IP, { source: "fd00:10:1::5", destination: "2001:db8::1", ipVersion: "IPv6" });
  assert.deepEqual(f.l4, { ICMPv6: { type: 128, code: 0 } });
  assert.equal(f.is_reply, true);
  assert.equal(f.packets, 12);
  assert.equal(f.bytes, 1200);
  assert.match(f.Summary, /^ICMPv6 EchoRequest; report; 12 packets, 1200 bytes$/);
});

Deno.test("a short record is refused, not misread", () => {
  assert.throws(() => new FlowDecoder(ctx).decode(new Uint8Array(64)), RangeError);
});

Deno.test("workloadOf() reads controllers from labels", () => {
  assert.deepEqual(workloadOf("db-0", { "statefulset.kubernetes.io/pod-name": "db-0" }), {
    name: "db",
    kind: "StatefulSet",
  });
  assert.deepEqual(workloadOf("agent-x7k2p", { "controller-revision-hash": "6f7" }), {
    name: "agent",
    kind: "DaemonSet",
  });
  assert.deepEqual(workloadOf("tool", { app: "debug" }), { name: "debug", kind: "App" });
  assert.deepEqual(workloadOf("tool", {}), { name: "tool", kind: "Pod" });
});
