import assert from "node:assert/strict";
import { filesOf, testPki } from "../tls/_testing.ts";
import { loadTlsMaterial, mutualTlsClientOptions } from "../tls/mod.ts";
import { FlowStore } from "./store.ts";
import { compileFilters } from "./filter.ts";
import { fetchPeerFlows, queryCluster } from "./peer_client.ts";
import { peerHandler, servePeer } from "./peer_server.ts";
import { parseFlowQuery } from "./query.ts";
import { makeFlow } from "./_testing.ts";

function nodeStore(node: string, seconds: number[]): FlowStore {
  const store = new FlowStore({ capacity: 100, nodeName: node });
  for (const s of seconds) store.add(makeFlow({ at: s, node_name: node }));
  store.add(makeFlow({ at: 100, node_name: node, verdict: "DROPPED" }));
  return store;
}

const queryOf = (store: FlowStore) => (q: ReturnType<typeof parseFlowQuery>) =>
  store.query(compileFilters(q.filters), {
    ...(q.last !== undefined ? { last: q.last } : {}),
    ...(q.first !== undefined ? { first: q.first } : {}),
    ...(q.since !== undefined ? { since: q.since } : {}),
  });

const q = (qs: string) => parseFlowQuery(new URLSearchParams(qs));
const seconds = (flows: Array<{ time: string }>) => flows.map((f) => Number(f.time.slice(17, 19)));

Deno.test("peerHandler() serves GET /v1/flows only, at most maxFlows per answer", async (t) => {
  const store = nodeStore("n2", [1, 2, 3, 4]);
  const handle = peerHandler({ nodeName: "n2", query: queryOf(store), maxFlows: 3 });
  const get = (path: string, init: RequestInit = {}) =>
    handle(new Request(`http://peer${path}`, init));

  await t.step("answers within the limit are whole", async () => {
    const ok = get("/v1/flows?verdict=FORWARDED&last=2");
    assert.equal(ok.status, 200);
    const body = await ok.json();
    assert.deepEqual(seconds(body.flows), [45, 46]);
    assert.equal(body.node, "n2");
    assert.equal(body.truncated, false);
    assert.equal(body.maxFlows, 3);
  });
  await t.step("a query without a limit gets the most recent maxFlows, truncated", async () => {
    const body = await get("/v1/flows?verdict=FORWARDED").json();
    assert.deepEqual(seconds(body.flows), [44, 45, 46]);
    assert.equal(body.truncated, true);
  });
  await t.step("--last over the limit is cut to it; --first keeps the oldest", async () => {
    const last = await get("/v1/flows?last=1000").json();
    assert.equal(last.flows.length, 3);
    assert.equal(last.truncated, true);
    const first = await get("/v1/flows?first=1000").json();
    assert.deepEqual(seconds(first.flows), [43, 44, 45]);
    assert.equal(first.truncated, true);
    const exact = await get("/v1/flows?verdict=FORWARDED&first=4").json();
    assert.equal(exact.flows.length, 3, "4 asked, 4 match, 3 allowed");
    assert.equal(exact.truncated, true);
  });
  await t.step("everything else is refused", async () => {
    assert.equal(get("/v1/status").status, 404);
    assert.equal(get("/v1/flows", { method: "POST" }).status, 405);
    const bad = get("/v1/flows?verdict=NOPE");
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.field, "verdict");
    assert.equal(get("/v1/flows?follow=true").status, 400);
    assert.equal(get("/v1/flows?cluster=true").status, 400);
    const long = get(`/v1/flows?node-name=${"a".repeat(300)}`);
    assert.equal(long.status, 400);
    const error = (await long.json()).error;
    assert.equal(error.field, "node-name");
    assert.match(error.message, /\(300 characters\): must be at most 256 characters/);
  });
});

Deno.test("queryCluster() over mutual TLS merges every node's flows and reports the ones that fail", async () => {
  await using pki = await testPki(["n1", "n2", "n3"], { ips: ["127.0.0.1", "127.0.0.2"] });
  const tls = (name: string) => loadTlsMaterial(filesOf(pki, name, true), "test.tls");
  const n2 = await servePeer("127.0.0.1:0", {
    nodeName: "n2",
    query: queryOf(nodeStore("n2", [2, 4])),
    maxFlows: 100,
    tls: await tls("n2"),
  });
  let n3: Awaited<ReturnType<typeof servePeer>> | undefined;
  using client = Deno.createHttpClient(mutualTlsClientOptions(await tls("n1")));
  try {
    assert.equal(n2.tls, true);
    n3 = await servePeer(`127.0.0.2:${n2.port}`, {
      nodeName: "n3",
      query: queryOf(nodeStore("n3", [3, 5])),
      maxFlows: 100,
      tls: await tls("n3"),
    });
    const local = nodeStore("n1", [1, 6]);
    const query = q("verdict=FORWARDED&last=5");
    const peers = [
      { name: "n1", addresses: ["127.0.0.9"] }, // this node: never asked
      { name: "n2", addresses: ["127.0.0.1"] },
      { name: "n3", addresses: ["127.0.0.2"] },
      { name: "n4", addresses: ["127.0.0.3"] }, // nothing listens there
      { name: "n5", addresses: [] },
    ];
    const opts = { port: n2.port, tls: true, client, timeoutMs: 2000, maxFlows: 100 };
    const r = await queryCluster({ name: "n1", flows: queryOf(local)(query) }, peers, query, opts);
    assert.deepEqual(
      r.flows.map((f) => `${f.node_name}@${f.time.slice(17, 19)}`),
      ["n2@44", "n3@45", "n2@46", "n3@47", "n1@48"],
      "the 5 most recent FORWARDED flows of the cluster, in time order",
    );
    assert.deepEqual(r.nodes.map((n) => [n.name, n.ok, n.flows]), [
      ["n1", true, 2],
      ["n2", true, 2],
      ["n3", true, 2],
      ["n4", false, 0],
      ["n5", false, 0],
    ]);
    assert.equal(r.truncated, false);
    assert.match(r.nodes[3]!.error!, /https:\/\/127\.0\.0\.3:\d+\/v1\/flows.*refused/i);
    assert.equal(r.nodes[4]!.error, "the node has no address");

    // The merged view holds at most maxFlows, the most recent: every node's drop at 100 s comes
    // last, at the same time (in the nodes' order).
    const all = q("");
    const small = await queryCluster(
      { name: "n1", flows: queryOf(local)(all) },
      peers.slice(0, 3),
      all,
      { ...opts, maxFlows: 2 },
    );
    assert.deepEqual(small.flows.map((f) => `${f.node_name} ${f.verdict}`), [
      "n2 DROPPED",
      "n3 DROPPED",
    ]);
    assert.equal(small.truncated, true);
    assert.ok(small.nodes.every((n) => n.truncated), JSON.stringify(small.nodes));

    // Without the client certificate, over plain http, or to a peer whose address the
    // certificate does not name: nothing.
    const node2 = peers[1]!;
    using anonymous = Deno.createHttpClient({ caCerts: [(await tls("n1")).caPem] });
    const none = await fetchPeerFlows(node2, query, { ...opts, client: anonymous });
    assert.ok(!none.ok, "no client certificate");
    const plain = await fetchPeerFlows(node2, query, { ...opts, tls: false });
    assert.ok(!plain.ok, "plain http to a TLS listener");
  } finally {
    await n2.close();
    await n3?.close();
  }
});

Deno.test("fetchPeerFlows() asks over plain http only on loopback, unless insecure", async () => {
  const query = q("");
  const far = { name: "far", addresses: ["192.0.2.1"] }; // never contacted
  const r = await fetchPeerFlows(far, query, { port: 4245, maxFlows: 10 });
  assert.deepEqual(r, {
    ok: false,
    error: "not asked over plain http (192.0.2.1 is not loopback): set observability.peer.tls " +
      "(or observability.peer.insecure: true)",
  });
  const off = await fetchPeerFlows(far, query, {
    port: 4245,
    maxFlows: 10,
    unavailable: "not asked: observability.peer.tls.cert: broken",
  });
  assert.deepEqual(off, { ok: false, error: "not asked: observability.peer.tls.cert: broken" });

  const plain = await servePeer("127.0.0.1:0", {
    nodeName: "n2",
    query: queryOf(nodeStore("n2", [1])),
    maxFlows: 10,
  });
  try {
    assert.equal(plain.tls, false);
    const near = { name: "n2", addresses: ["127.0.0.1"] };
    const ok = await fetchPeerFlows(near, query, { port: plain.port, maxFlows: 10 });
    assert.ok(ok.ok && ok.flows.length === 2);
  } finally {
    await plain.close();
  }
});

Deno.test("fetchPeerFlows() gives up on a node that does not answer in time", async () => {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    (req) =>
      new Promise<Response>((resolve) =>
        req.signal.addEventListener("abort", () => resolve(new Response("gone")))
      ),
  );
  try {
    const r = await fetchPeerFlows({ name: "slow", addresses: ["127.0.0.1"] }, q(""), {
      port: server.addr.port,
      timeoutMs: 100,
      maxFlows: 10,
    });
    assert.ok(!r.ok);
    assert.match(
      r.error,
      /^http:\/\/127\.0\.0\.1:\d+\/v1\/flows\?last=11: no answer within 100 ms$/,
    );
  } finally {
    ac.abort();
    await server.finished;
  }
});

Deno.test("fetchPeerFlows() rejects answers that are not lists of flows and cuts long ones", async () => {
  const ac = new AbortController();
  const many = Array.from({ length: 5 }, (_, i) => makeFlow({ at: i }));
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    (req) => {
      const params = new URL(req.url).searchParams;
      if (params.has("verdict")) return Response.json({ flows: many }); // ignores the limit
      return params.get("last") === "1"
        ? Response.json({ flows: [{ nope: 1 }] })
        : new Response("<html>", { status: 200 });
    },
  );
  try {
    const node = { name: "odd", addresses: ["127.0.0.1"] };
    const opts = { port: server.addr.port, maxFlows: 3 };
    const html = await fetchPeerFlows(node, q(""), opts);
    assert.ok(!html.ok && /is not JSON/.test(html.error));
    const odd = await fetchPeerFlows(node, q("last=1"), opts);
    assert.ok(!odd.ok && /has no list of flows/.test(odd.error));
    const big = await fetchPeerFlows(node, q("last=1"), { ...opts, maxBytes: 4 });
    assert.ok(!big.ok && /larger than 4 bytes/.test(big.error));
    const long = await fetchPeerFlows(node, q("verdict=FORWARDED"), opts);
    assert.ok(long.ok);
    assert.deepEqual(seconds(long.flows), [44, 45, 46], "the most recent 3 of the 5 sent");
    assert.equal(long.truncated, true);
  } finally {
    ac.abort();
    await server.finished;
  }
});

Deno.test("servePeer() names the address it cannot listen on", async () => {
  const opts = { nodeName: "n", query: () => [], maxFlows: 10 };
  const a = await servePeer("127.0.0.1:0", opts);
  try {
    await assert.rejects(
      servePeer(`127.0.0.1:${a.port}`, opts),
      /Cannot listen for flow peers on 127\.0\.0\.1:\d+ \(observability\.peer\.listen\): /,
    );
  } finally {
    await a.close();
  }
});
