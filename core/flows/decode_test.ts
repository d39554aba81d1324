import assert from "node:assert/strict";
import { FLOW_F, type FlowEvent, OBS_POINT } from "../bpf/generated/host.ts";
import { FlowDecoder, workloadOf } from "./decode.ts";
import { EventLog } from "./event_log.ts";
import { event, eventBytes, htons, testContext, testEndpoints, words } from "./_testing.ts";

function decode(e: FlowEvent) {
  return new FlowDecoder(testContext()).decode(eventBytes(e));
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
  assert.throws(() => new FlowDecoder(testContext()).decode(new Uint8Array(64)), RangeError);
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

Deno.test("a captured event keeps what the node knew when it arrived", () => {
  const endpoints = testEndpoints();
  const ctx = testContext(endpoints);
  const decoder = new FlowDecoder(ctx);
  const log = new EventLog(2);
  decoder.capture(eventBytes({}), log, 0);
  decoder.capture(
    eventBytes({ type: 5, verdict: 2, rule: 4, flags: FLOW_F.NEW | FLOW_F.INGRESS }),
    log,
    1,
  );
  // then the pod goes away and the policy with it
  delete endpoints["10.1.0.5"];
  ctx.generation++;
  ctx.rule = () => undefined;
  const f = decoder.materialize(log, 0);
  assert.equal(f.source.pod_name, "web-5d9c7b8f4-x2k9z");
  assert.equal(f.traffic_direction, "EGRESS");
  assert.deepEqual(decoder.materialize(log, 1).ingress_denied_by, [
    { kind: "CiliumNetworkPolicy", namespace: "shop", name: "db-in" },
  ]);
  // decoded now, the same event no longer knows its pod
  assert.equal(decoder.decode(eventBytes({})).source.pod_name, undefined);
});

Deno.test("a captured event makes equal flows each time, each event its own uuid", () => {
  const decoder = new FlowDecoder(testContext());
  const log = new EventLog(2);
  decoder.capture(eventBytes({}), log, 0);
  decoder.capture(eventBytes({ sport: htons(40001) }), log, 1);
  const [a, b] = [decoder.materialize(log, 0), decoder.materialize(log, 0)];
  assert.notEqual(a, b);
  assert.deepEqual(a, b);
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  assert.match(a.uuid, uuid);
  assert.match(decoder.materialize(log, 1).uuid, uuid);
  assert.notEqual(a.uuid, decoder.materialize(log, 1).uuid);
  assert.throws(() => decoder.capture(new Uint8Array(64), log, 0), RangeError);
  assert.deepEqual(decoder.materialize(log, 0), a, "a refused record leaves the slot alone");
});
