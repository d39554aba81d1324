import assert from "node:assert/strict";
import { join } from "node:path";
import { configSchema } from "../config/schema.ts";
import { FlowObserver, type ObservabilityConfig } from "./observer.ts";
import { parseFlowQuery } from "./query.ts";
import { isLostEvents } from "./events.ts";
import { makeFlow } from "./_testing.ts";
import { filesOf, testPki } from "../tls/_testing.ts";

/** The config's defaults with `o`; `listen` may use port 0 (the schema wants a real one). */
function config(o: Record<string, unknown>, listen = "127.0.0.1:0"): ObservabilityConfig {
  const c = configSchema.parse({ observability: o }).observability;
  return { ...c, peer: { ...c.peer, listen } };
}

const q = (qs: string) => parseFlowQuery(new URLSearchParams(qs));

function recorder() {
  const logged: string[] = [];
  const logger = {
    debug() {},
    info() {},
    warn: (msg: string) => void logged.push(`warn: ${msg}`),
    error: (msg: string) => void logged.push(`error: ${msg}`),
  };
  return { logged, logger };
}

Deno.test("FlowObserver stores, exports, serves peers over mutual TLS and merges the cluster view", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hypha-observer-" });
  await using pki = await testPki(["n1", "n2"], { ips: ["127.0.0.1", "127.0.0.2"] });
  const nodes = [
    { name: "n1", addresses: ["127.0.0.1"] },
    { name: "n2", addresses: ["127.0.0.2"] },
  ];
  const n1 = new FlowObserver({
    nodeName: "n1",
    config: config({
      store: { capacity: 100 },
      export: { path: join(dir, "flows.json"), filter: "verdict=DROPPED" },
      peer: { tls: filesOf(pki, "n1", true) },
    }),
    nodes: () => nodes,
  });
  let n2: FlowObserver | undefined;
  try {
    await n1.start();
    assert.equal(n1.stats().peer.mode, "mtls");
    const port = n1.stats().peer.listening!.split(":")[1];
    n2 = new FlowObserver({
      nodeName: "n2",
      config: config({ peer: { tls: filesOf(pki, "n2", true) } }, `127.0.0.2:${port}`),
      nodes: () => nodes,
    });
    await n2.start();
    n1.add(makeFlow({ at: 1, node_name: "n1" }));
    n1.add(makeFlow({ at: 3, node_name: "n1", verdict: "DROPPED" }));
    n2.add(makeFlow({ at: 2, node_name: "n2" }));

    const local = n1.query(q("last=10"));
    assert.equal(local.flows.length, 2);
    assert.deepEqual(local.stats, { returned: 2, size: 2, capacity: 100, seen: 2, evicted: 0 });

    // n1 reaches n2 on the same port (the config's), each with its own certificate
    const cluster = await n2.cluster(q("last=10"));
    assert.deepEqual(cluster.flows.map((f) => f.node_name), ["n1", "n2", "n1"]);
    assert.deepEqual(cluster.stats, { returned: 3, nodes: 2, unreachable: 0, maxFlows: 10_000 });
    assert.equal(cluster.truncated, false);

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

Deno.test("FlowObserver with the default config serves no flows off loopback, and runs", async () => {
  const { logged, logger } = recorder();
  const nodes = [{ name: "n1", addresses: ["192.0.2.1"] }, {
    name: "n2",
    addresses: ["192.0.2.2"],
  }];
  const o = new FlowObserver({
    nodeName: "n1",
    config: config({}, ""),
    nodes: () => nodes,
    defaultPeerListen: "192.0.2.1:4245", // refused before anything binds
    logger,
  });
  try {
    await o.start();
    const peer = o.stats().peer;
    assert.equal(peer.listening, null);
    assert.equal(peer.mode, null);
    const message = "Flow peer listener not started: 192.0.2.1:4245 is not loopback and " +
      "observability.peer.tls is not set (set tls.ca, tls.cert and tls.key, see hypha certs; " +
      "or insecure: true to serve flows unauthenticated)";
    assert.equal(peer.error, message);
    assert.deepEqual(logged, [`error: ${message}`]);
    // the node's own flows work; the cluster view does not ask other nodes in the clear
    o.add(makeFlow());
    assert.equal(o.query(q("")).flows.length, 1);
    const cluster = await o.cluster(q(""));
    assert.equal(cluster.flows.length, 1);
    assert.match(cluster.nodes[1]!.error!, /^not asked over plain http \(192\.0\.2\.2 is not/);
  } finally {
    await o.stop();
  }
});

Deno.test("FlowObserver with bad TLS files names the field, keeps running, asks no peer", async () => {
  await using pki = await testPki(["n1"]);
  const { logged, logger } = recorder();
  const o = new FlowObserver({
    nodeName: "n1",
    config: config({ peer: { tls: { ...filesOf(pki, "n1"), cert: pki.path("nope.crt") } } }),
    nodes: () => [{ name: "n2", addresses: ["127.0.0.2"] }],
    logger,
  });
  try {
    await o.start();
    const peer = o.stats().peer;
    assert.equal(peer.listening, null);
    assert.match(
      peer.error!,
      /^Flow peer listener and cluster view requests are off: observability\.peer\.tls\.cert: cannot read ".*nope\.crt"/,
    );
    assert.equal(logged.length, 1);
    const cluster = await o.cluster(q(""));
    assert.match(cluster.nodes[1]!.error!, /^not asked: observability\.peer\.tls\.cert: /);
  } finally {
    await o.stop();
  }
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
  const { logged, logger } = recorder();
  const second = new FlowObserver({
    nodeName: "b",
    config: config({}, first.stats().peer.listening!),
    nodes: () => [],
    logger,
  });
  try {
    await second.start();
    assert.equal(second.stats().peer.listening, null);
    assert.match(second.stats().peer.error!, /Cannot listen for flow peers on 127\.0\.0\.1:\d+/);
    assert.deepEqual(logged, ["warn: flow peer listener not started"]);
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
