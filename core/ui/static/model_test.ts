import assert from "node:assert/strict";
import type { Flow, FlowEndpoint } from "../../flows/flow.ts";
import {
  buildGraph,
  endpointLabel,
  filterParams,
  FlowList,
  formFromSearch,
  portProto,
  timeKey,
  workloadOf,
  worseVerdict,
} from "./model.js";

function ep(e: Partial<FlowEndpoint>): FlowEndpoint {
  return { ID: 0, identity: 0, labels: [], ...e };
}

const WEB = ep({ namespace: "shop", pod_name: "web-7d9f-abc", labels: ["k8s:app=web"] });
const DB = ep({ namespace: "shop", pod_name: "db-0", labels: [] });
const WORLD = ep({ identity: 2, labels: ["reserved:world"] });

let n = 0;
function flow(f: Partial<Flow>): Flow {
  n++;
  return {
    time: `2025-05-01T10:00:${String(n % 60).padStart(2, "0")}.000000000Z`,
    uuid: `u${n}`,
    verdict: "FORWARDED",
    IP: { source: "10.244.1.5", destination: "10.244.2.7", ipVersion: "IPv4" },
    l4: { TCP: { source_port: 40000 + n, destination_port: 5432 } },
    source: WEB,
    destination: DB,
    Type: "L3_L4",
    node_name: "n1",
    event_type: { type: 4 },
    traffic_direction: "EGRESS",
    trace_observation_point: "FROM_ENDPOINT",
    is_reply: false,
    Summary: "TCP Flags: SYN",
    ...f,
  };
}

Deno.test("workloadOf() names the map node of an endpoint", async (t) => {
  await t.step("the workload, else the app label, else the pod", () => {
    assert.equal(
      workloadOf(ep({ ...WEB, workloads: [{ name: "web-v2", kind: "Deployment" }] }), "").key,
      "shop/web-v2",
    );
    assert.equal(workloadOf(WEB, "10.0.0.1").key, "shop/web");
    assert.deepEqual(workloadOf(DB, "10.0.0.2"), {
      key: "shop/db-0",
      namespace: "shop",
      name: "db-0",
    });
  });
  await t.step("the namespace label when the namespace field is missing", () => {
    const remote = ep({ labels: ["k8s:app=api", "k8s:io.kubernetes.pod.namespace=prod"] });
    assert.equal(workloadOf(remote, "10.244.3.3").key, "prod/api");
  });
  await t.step("reserved endpoints by label, by identity, else by IP", () => {
    assert.equal(workloadOf(WORLD, "1.1.1.1").key, "world");
    assert.equal(workloadOf(ep({ labels: ["reserved:world-ipv4"] }), "1.1.1.1").key, "world");
    assert.equal(workloadOf(ep({ identity: 6 }), "10.0.0.9").key, "remote-node");
    assert.equal(workloadOf(ep({ identity: 1 }), "10.0.0.9").key, "host");
    assert.equal(workloadOf(ep({ identity: 99999 }), "192.0.2.1").key, "192.0.2.1");
    assert.equal(workloadOf(undefined, undefined).key, "unknown");
  });
  await t.step("table labels: ns/pod, else the workload and its IP", () => {
    assert.equal(endpointLabel(WEB, "10.0.0.1"), "shop/web-7d9f-abc");
    assert.equal(endpointLabel(WORLD, "1.1.1.1"), "world (1.1.1.1)");
    assert.equal(endpointLabel(ep({}), "192.0.2.1"), "192.0.2.1");
  });
});

Deno.test("worseVerdict() ranks dropped over audit over forwarded", () => {
  assert.equal(worseVerdict("FORWARDED", "DROPPED"), "DROPPED");
  assert.equal(worseVerdict("DROPPED", "AUDIT"), "DROPPED");
  assert.equal(worseVerdict("AUDIT", "FORWARDED"), "AUDIT");
  assert.equal(worseVerdict("TRANSLATED", "FORWARDED"), "FORWARDED");
});

Deno.test("portProto() and timeKey() read a flow", () => {
  assert.equal(portProto(flow({})), "5432/TCP");
  assert.equal(
    portProto(flow({ l4: { UDP: { source_port: 1, destination_port: 53 } } })),
    "53/UDP",
  );
  assert.equal(portProto(flow({ l4: { ICMPv4: { type: 8, code: 0 } } })), "ICMPv4 8/0");
  const { l4: _, ...noL4 } = flow({});
  assert.equal(portProto(noL4), "");
  assert.ok(timeKey("2025-05-01T10:00:00.0000002Z") > timeKey("2025-05-01T10:00:00.0000001Z"));
  assert.ok(timeKey("2025-05-01T10:00:00.1Z") > timeKey("2025-05-01T10:00:00.09999Z"));
});

Deno.test("FlowList holds the newest flows once, newest first", () => {
  const list = new FlowList(3);
  const [a, b, c, d] = [
    flow({ time: "2025-05-01T10:00:01Z" }),
    flow({ time: "2025-05-01T10:00:02Z" }),
    flow({ time: "2025-05-01T10:00:03Z" }),
    flow({ time: "2025-05-01T10:00:04Z" }),
  ];
  assert.equal(list.add(c), true);
  assert.equal(list.add(a), true); // older, arrives late: sorted in
  assert.equal(list.add(c), false, "the overlap of follow and last is dropped");
  list.add(b);
  assert.deepEqual(list.newest().map((f) => f.uuid), [c.uuid, b.uuid, a.uuid]);
  list.add(d);
  assert.deepEqual(list.newest().map((f) => f.uuid), [d.uuid, c.uuid, b.uuid], "the oldest goes");
  assert.equal(list.add(a), true, "a flow that was evicted is new again");
  assert.deepEqual(list.newest(2).map((f) => f.uuid), [d.uuid, c.uuid]);
  list.clear();
  assert.equal(list.size, 0);
});

Deno.test("buildGraph() groups workloads by namespace and keeps the worst verdict per edge", () => {
  const scanner = ep({ namespace: "ops", pod_name: "scanner", labels: ["k8s:app=scanner"] });
  const g = buildGraph([
    flow({}),
    flow({
      is_reply: true,
      source: DB,
      destination: WEB,
      l4: { TCP: { source_port: 5432, destination_port: 40001 } },
    }),
    flow({ source: scanner, verdict: "DROPPED", drop_reason_desc: "POLICY_DENIED" }),
    flow({ source: scanner, verdict: "FORWARDED" }),
    flow({
      destination: WORLD,
      verdict: "AUDIT",
      l4: { TCP: { source_port: 1, destination_port: 443 } },
    }),
  ]);
  assert.deepEqual(g.groups.map((x) => [x.namespace, x.nodes.map((y) => y.name)]), [
    ["ops", ["scanner"]],
    ["shop", ["db-0", "web"]],
    ["", ["world"]],
  ]);
  const edges = Object.fromEntries(g.edges.map((e) => [e.key, e]));
  assert.deepEqual(Object.keys(edges).sort(), [
    "ops/scanner->shop/db-0",
    "shop/web->shop/db-0",
    "shop/web->world",
  ]);
  const web = edges["shop/web->shop/db-0"]!;
  assert.equal(web.count, 2, "the reply counts on the request's edge");
  assert.deepEqual(web.ports, ["5432/TCP"]);
  const scan = edges["ops/scanner->shop/db-0"]!;
  assert.equal(scan.verdict, "DROPPED");
  assert.deepEqual(scan.verdicts, { DROPPED: 1, FORWARDED: 1 });
  assert.deepEqual(scan.dropReasons, { POLICY_DENIED: 1 });
  assert.equal(edges["shop/web->world"]!.verdict, "AUDIT");
  const db = g.groups[1]!.nodes[0]!;
  assert.equal(db.verdict, "DROPPED");
  assert.deepEqual(db.ports, ["5432/TCP"]);
});

Deno.test("filterParams() maps the filter bar to query parameters", () => {
  assert.deepEqual(
    filterParams({
      namespace: " shop ",
      pod: "",
      verdict: "DROPPED",
      filters: "--to-port=80  from-ip=10.0.0.0/8 verdict=AUDIT",
    }),
    {
      params: [["namespace", "shop"], ["verdict", "DROPPED"], ["to-port", "80"], [
        "from-ip",
        "10.0.0.0/8",
      ], ["verdict", "AUDIT"]],
    },
  );
  assert.match(
    (filterParams({ filters: "verdict" }) as { error: string }).error,
    /Filter "verdict" is not key=value/,
  );
  assert.match(
    (filterParams({ filters: "last=5" }) as { error: string }).error,
    /"last" is set by the page/,
  );
  assert.deepEqual(
    formFromSearch(
      new URLSearchParams("namespace=a&verdict=DROPPED&from-ip=1.2.3.4&verdict=AUDIT"),
    ),
    { namespace: "a", pod: "", verdict: "DROPPED", filters: "from-ip=1.2.3.4 verdict=AUDIT" },
  );
});
