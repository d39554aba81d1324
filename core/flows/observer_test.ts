import assert from "node:assert/strict";
import { join } from "node:path";
import { configSchema } from "../config/schema.ts";
import { FlowObserver, type ObservabilityConfig } from "./observer.ts";
import { parseFlowQuery } from "./query.ts";
import { isLostEvents } from "./events.ts";
import { makeFlow } from "./_testing.ts";

const TOKEN = "0123456789abcdef-token";

/** The config's defaults with `o`; `listen` may use port 0 (the schema wants a real one). */
function config(o: Record<string, unknown>, listen = "127.0.0.1:0"): ObservabilityConfig {
  const c = configSchema.parse({ observability: o }).observability;
  return { ...c, peer: { ...c.peer, listen } };
}

const q = (qs: string) => parseFlowQuery(new URLSearchParams(qs));

Deno.test("FlowObserver stores, exports, serves peers and merges the cluster view", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hypha-observer-" });
  const tokenFile = join(dir, "token");
  await Deno.writeTextFile(tokenFile, TOKEN);
  const nodes = [
    { name: "n1", addresses: ["127.0.0.1"] },
    { name: "n2", addresses: ["127.0.0.2"] },
  ];
  const n1 = new FlowObserver({
    nodeName: "n1",
    config: config({
      store: { capacity: 100 },
      export: { path: join(dir, "flows.json"), filter: "verdict=DROPPED" },
      peer: { tokenFile },
    }),
    nodes: () => nodes,
  });
  let n2: FlowObserver | undefined;
  try {
    await n1.start();
    const port = n1.stats().peer.listening!.split(":")[1];
    n2 = new FlowObserver({
      nodeName: "n2",
      config: config({ peer: { tokenFile } }, `127.0.0.2:${port}`),
      nodes: () => nodes,
    });
    await n2.start();
    n1.add(makeFlow({ at: 1, node_name: "n1" }));
    n1.add(makeFlow({ at: 3, node_name: "n1", verdict: "DROPPED" }));
    n2.add(makeFlow({ at: 2, node_name: "n2" }));

    const local = n1.query(q("last=10"));
    assert.equal(local.flows.length, 2);
    assert.deepEqual(local.stats, { returned: 2, size: 2, capacity: 100, seen: 2, evicted: 0 });

    // n1 reaches n2 on the same port (the config's), with the shared token
    const cluster = await n2.cluster(q("last=10"));
    assert.deepEqual(cluster.flows.map((f) => f.node_name), ["n1", "n2", "n1"]);
    assert.deepEqual(cluster.stats, { returned: 3, nodes: 2, unreachable: 0 });

    const sub = n1.follow(q("follow=true&verdict=DROPPED&last=1"));
    const first = await sub.next();
    assert.ok(!first.done && !isLostEvents(first.value) && first.value.flow.verdict === "DROPPED");
    n1.reportLost("PERF_EVENT_RING_BUFFER", 4);
    const lost = await sub.next();
    assert.ok(!lost.done && isLostEvents(lost.value));
    assert.equal(n1.stats().subscribers.length, 1);
    assert.deepEqual(n1.stats().lostBefore, { PERF_EVENT_RING_BUFFER: 4 });

    await n1.stop();
    assert.equal(sub.closed, true, "stop ends followers");
    const exported = (await Deno.readTextFile(join(dir, "flows.json"))).trim().split("\n");
    assert.equal(exported.length, 1, "only drops are exported");
    assert.equal(JSON.parse(exported[0]!).flow.verdict, "DROPPED");
  } finally {
    await n1.stop();
    await n2?.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FlowObserver.start() fails on a bad token file and leaves nothing running", async () => {
  const o = new FlowObserver({
    nodeName: "n1",
    config: config({ peer: { tokenFile: "/nonexistent/token" } }),
    nodes: () => [],
  });
  await assert.rejects(o.start(), /Cannot read observability\.peer\.tokenFile/);
  assert.equal(o.stats().peer.listening, null);
});

Deno.test("FlowObserver without an address does not listen for peers", async () => {
  const o = new FlowObserver({
    nodeName: "n1",
    config: config({}, ""),
    nodes: () => [],
  });
  await o.start();
  assert.equal(o.stats().peer.listening, null);
  assert.equal(o.stats().export, null);
  await o.stop();
});

Deno.test("FlowObserver keeps working when the peer port is taken", async () => {
  const first = new FlowObserver({ nodeName: "a", config: config({}), nodes: () => [] });
  await first.start();
  const warnings: string[] = [];
  const second = new FlowObserver({
    nodeName: "b",
    config: config({}, first.stats().peer.listening!),
    nodes: () => [],
    logger: {
      debug() {},
      info() {},
      warn: (msg) => warnings.push(msg),
      error() {},
    },
  });
  try {
    await second.start();
    assert.equal(second.stats().peer.listening, null);
    assert.match(second.stats().peer.error!, /Cannot listen for flow peers on 127\.0\.0\.1:\d+/);
    assert.ok(warnings.includes("flow peer listener not started"));
    second.add(makeFlow());
    assert.equal(second.query(q("")).flows.length, 1);
  } finally {
    await second.stop();
    await first.stop();
  }
});

Deno.test("FlowObserver opens nothing when observability is off", async () => {
  const o = new FlowObserver({
    nodeName: "n1",
    config: config({ enabled: false, export: { path: "/nonexistent/dir/flows.json" } }),
    nodes: () => [],
  });
  await o.start();
  assert.equal(o.stats().peer.listening, null);
  assert.equal(o.stats().export, null);
  await o.stop();
});
