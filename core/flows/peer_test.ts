import assert from "node:assert/strict";
import { FlowStore } from "./store.ts";
import { compileFilters } from "./filter.ts";
import { fetchPeerFlows, queryCluster } from "./peer_client.ts";
import { peerHandler, readPeerToken, servePeer } from "./peer_server.ts";
import { parseFlowQuery } from "./query.ts";
import { makeFlow } from "./_testing.ts";

const TOKEN = "0123456789abcdef-token";

function nodeStore(node: string, seconds: number[]): FlowStore {
  const store = new FlowStore({ capacity: 100, nodeName: node });
  for (const s of seconds) store.add(makeFlow({ at: s, node_name: node }));
  store.add(makeFlow({ at: 100, node_name: node, verdict: "DROPPED" }));
  return store;
}

const queryOf = (store: FlowStore) => (q: ReturnType<typeof parseFlowQuery>) =>
  store.query(compileFilters(q.filters), {
    ...(q.last !== undefined ? { last: q.last } : {}),
    ...(q.since !== undefined ? { since: q.since } : {}),
  });

Deno.test("peerHandler() serves GET /v1/flows only, behind the token", async () => {
  const store = nodeStore("n2", [1, 2]);
  const handle = peerHandler({ nodeName: "n2", query: queryOf(store), token: TOKEN });
  const get = (path: string, init: RequestInit = {}) =>
    handle(new Request(`http://peer${path}`, init));
  const auth = { headers: { authorization: `Bearer ${TOKEN}` } };
  assert.equal(get("/v1/flows").status, 401);
  assert.equal(get("/v1/flows", { headers: { authorization: "Bearer nope" } }).status, 401);
  const ok = get("/v1/flows?verdict=FORWARDED", auth);
  assert.equal(ok.status, 200);
  const body = await ok.json();
  assert.equal(body.flows.length, 2);
  assert.equal(body.node, "n2");
  assert.equal(get("/v1/status", auth).status, 404);
  assert.equal(get("/v1/flows", { ...auth, method: "POST" }).status, 405);
  const bad = get("/v1/flows?verdict=NOPE", auth);
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error.field, "verdict");
  assert.equal(get("/v1/flows?follow=true", auth).status, 400);
  assert.equal(get("/v1/flows?cluster=true", auth).status, 400);
  assert.equal(
    peerHandler({ nodeName: "n2", query: queryOf(store) })(new Request("http://peer/v1/flows"))
      .status,
    200,
  );
});

Deno.test("queryCluster() merges every node's flows and reports the ones that fail", async () => {
  const n2 = servePeer("127.0.0.1:0", {
    nodeName: "n2",
    query: queryOf(nodeStore("n2", [2, 4])),
    token: TOKEN,
  });
  let n3: ReturnType<typeof servePeer> | undefined;
  try {
    n3 = servePeer(`127.0.0.2:${n2.port}`, {
      nodeName: "n3",
      query: queryOf(nodeStore("n3", [3, 5])),
      token: TOKEN,
    });
    const local = nodeStore("n1", [1, 6]);
    const q = parseFlowQuery(new URLSearchParams("verdict=FORWARDED&last=5"));
    const peers = [
      { name: "n1", addresses: ["127.0.0.9"] }, // this node: never asked
      { name: "n2", addresses: ["127.0.0.1"] },
      { name: "n3", addresses: ["127.0.0.2"] },
      { name: "n4", addresses: ["127.0.0.3"] }, // nothing listens there
      { name: "n5", addresses: [] },
    ];
    const r = await queryCluster(
      { name: "n1", flows: queryOf(local)(q) },
      peers,
      q,
      { port: n2.port, token: TOKEN, timeoutMs: 2000 },
    );
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
    assert.match(r.nodes[3]!.error!, /127\.0\.0\.3:\d+\/v1\/flows.*connection refused/);
    assert.equal(r.nodes[4]!.error, "the node has no address");
    // a wrong token is reported with a hint
    const denied = await fetchPeerFlows(peers[1]!, q, { port: n2.port, token: "x".repeat(16) });
    assert.ok(!denied.ok);
    assert.match(
      denied.error,
      /HTTP 401: Missing or wrong bearer token \(is observability\.peer\.tokenFile/,
    );
  } finally {
    await n2.close();
    await n3?.close();
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
    const q = parseFlowQuery(new URLSearchParams(""));
    const r = await fetchPeerFlows({ name: "slow", addresses: ["127.0.0.1"] }, q, {
      port: server.addr.port,
      timeoutMs: 100,
    });
    assert.deepEqual(r, {
      ok: false,
      error: `http://127.0.0.1:${server.addr.port}/v1/flows: no answer within 100 ms`,
    });
  } finally {
    ac.abort();
    await server.finished;
  }
});

Deno.test("fetchPeerFlows() rejects answers that are not lists of flows", async () => {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    (req) =>
      new URL(req.url).searchParams.has("last")
        ? Response.json({ flows: [{ nope: 1 }] })
        : new Response("<html>", { status: 200 }),
  );
  try {
    const node = { name: "odd", addresses: ["127.0.0.1"] };
    const port = server.addr.port;
    const html = await fetchPeerFlows(node, parseFlowQuery(new URLSearchParams("")), { port });
    assert.ok(!html.ok && /is not JSON/.test(html.error));
    const odd = await fetchPeerFlows(node, parseFlowQuery(new URLSearchParams("last=1")), { port });
    assert.ok(!odd.ok && /has no list of flows/.test(odd.error));
    const big = await fetchPeerFlows(node, parseFlowQuery(new URLSearchParams("last=1")), {
      port,
      maxBytes: 4,
    });
    assert.ok(!big.ok && /larger than 4 bytes/.test(big.error));
  } finally {
    ac.abort();
    await server.finished;
  }
});

Deno.test("servePeer() names the address it cannot listen on; readPeerToken() checks the file", async () => {
  const a = servePeer("127.0.0.1:0", { nodeName: "n", query: () => [] });
  try {
    assert.throws(
      () => servePeer(`127.0.0.1:${a.port}`, { nodeName: "n", query: () => [] }),
      /Cannot listen for flow peers on 127\.0\.0\.1:\d+ \(observability\.peer\.listen\): /,
    );
  } finally {
    await a.close();
  }
  assert.equal(await readPeerToken(""), undefined);
  await assert.rejects(
    readPeerToken("/nonexistent/token"),
    /Cannot read observability\.peer\.tokenFile "\/nonexistent\/token"/,
  );
  const file = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(file, "short\n");
    await assert.rejects(readPeerToken(file), /the token must be at least 16 characters/);
    await Deno.writeTextFile(file, `${TOKEN}\n`);
    assert.equal(await readPeerToken(file), TOKEN);
  } finally {
    await Deno.remove(file);
  }
});
