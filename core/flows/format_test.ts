import assert from "node:assert/strict";
import {
  compactLine,
  dropReason,
  flowType,
  jsonLine,
  lostLine,
  summary,
  tableRow,
  timestamp,
  verdictText,
} from "./format.ts";
import { lostEventsRecord } from "./events.ts";
import { makeFlow } from "./_testing.ts";

const UTC = { utc: true };

Deno.test("compactLine() prints like hubble observe -o compact", () => {
  assert.equal(
    compactLine(makeFlow({ time: "2026-12-05T10:15:42.123456789Z" }), UTC),
    "Dec  5 10:15:42.123: shop/web-7d9f8-abcde:51234 (ID:256) -> shop/db-0:5432 (ID:257) " +
      "to-endpoint FORWARDED (TCP Flags: SYN)",
  );
});

Deno.test("compactLine() flips replies, names reserved identities and bare addresses", () => {
  const reply = makeFlow({
    is_reply: true,
    l4: { TCP: { source_port: 5432, destination_port: 51234, flags: { SYN: true, ACK: true } } },
  });
  assert.match(
    compactLine(reply, UTC),
    /: shop\/db-0:51234 \(ID:257\) <- shop\/web-7d9f8-abcde:5432 \(ID:256\) .*\(TCP Flags: SYN, ACK\)$/,
  );
  const world = makeFlow({
    IP: { source: "fd00::1", destination: "10.244.2.7", ipVersion: "IPv6" },
    source: { identity: 2, labels: ["reserved:world"] },
  });
  delete world.source.namespace;
  delete world.source.pod_name;
  assert.match(compactLine(world, UTC), /: \[fd00::1\]:51234 \(world\) -> shop\/db-0:5432/);
  assert.match(
    compactLine(makeFlow(), { ...UTC, nodeName: true }),
    /^Dec {2}5 10:15:42\.123 \[node1\]: /,
  );
});

Deno.test("summary() is Hubble's; the decoder's own wins", () => {
  assert.equal(summary(makeFlow({ Summary: "decoded" })), "decoded");
  assert.equal(
    summary(
      makeFlow({
        l4: {
          TCP: { source_port: 1, destination_port: 2, flags: { ACK: true, FIN: true, SYN: true } },
        },
      }),
    ),
    "TCP Flags: SYN, ACK, FIN",
  );
  assert.equal(summary(makeFlow({ l4: { UDP: { source_port: 1, destination_port: 53 } } })), "UDP");
  assert.equal(summary(makeFlow({ l4: { ICMPv4: { type: 8, code: 0 } } })), "ICMPv4 EchoRequest");
  assert.equal(
    summary(makeFlow({ l4: { ICMPv4: { type: 3, code: 3 } } })),
    "ICMPv4 DestinationUnreachable(Port)",
  );
  assert.equal(summary(makeFlow({ l4: { ICMPv6: { type: 129, code: 0 } } })), "ICMPv6 EchoReply");
  const drop = makeFlow({
    verdict: "DROPPED",
    drop_reason: 134,
    drop_reason_desc: "POLICY_DENIED",
  });
  delete drop.l4;
  assert.equal(summary(drop), "Policy denied");
});

Deno.test("flowType() and verdictText() follow Hubble's TYPE and VERDICT columns", () => {
  assert.equal(flowType(makeFlow()), "to-endpoint");
  assert.equal(flowType(makeFlow({ trace_observation_point: "FROM_NETWORK" })), "from-network");
  const drop = makeFlow({
    verdict: "DROPPED",
    event_type: { type: 1, sub_type: 134 },
    drop_reason: 134,
    drop_reason_desc: "POLICY_DENIED",
  });
  assert.equal(flowType(drop), "Policy denied");
  assert.equal(dropReason(makeFlow({ drop_reason: 200 })), "Unknown 200");
  const verdict = makeFlow({
    verdict: "DROPPED",
    event_type: { type: 5 },
    policy_match_type: 2,
    traffic_direction: "INGRESS",
  });
  assert.equal(flowType(verdict), "policy-verdict:L3-L4 INGRESS");
  assert.equal(verdictText(verdict), "DENIED");
  assert.equal(verdictText({ ...verdict, verdict: "FORWARDED" }), "ALLOWED");
  assert.equal(verdictText(drop), "DROPPED");
});

Deno.test("tableRow(), jsonLine() and lostLine()", () => {
  assert.deepEqual(tableRow(makeFlow(), UTC), [
    "Dec  5 10:15:42.123",
    "shop/web-7d9f8-abcde:51234",
    "shop/db-0:5432",
    "to-endpoint",
    "FORWARDED",
    "TCP Flags: SYN",
  ]);
  const f = makeFlow();
  assert.deepEqual(JSON.parse(jsonLine(f)), { flow: f, node_name: "node1", time: f.time });
  const lost = lostEventsRecord("HUBBLE_RING_BUFFER", 3, "node1", new Date(Date.UTC(2026, 11, 5)));
  assert.equal(
    lostLine(lost, UTC),
    "Dec  5 00:00:00.000 [node1]: EVENTS LOST: HUBBLE_RING_BUFFER 3 events lost",
  );
  assert.equal(timestamp("not a time"), "N/A");
});
