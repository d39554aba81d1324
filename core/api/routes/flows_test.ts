import assert from "node:assert/strict";
import { join } from "node:path";
import { createApiApp } from "../app.ts";
import { serveApi } from "../server.ts";
import { fakeBackend } from "../_fake_backend.ts";
import { makeFlow } from "../../flows/_testing.ts";

function setup() {
  const backend = fakeBackend();
  const app = createApiApp(backend);
  const add = (n: number, o: Parameters<typeof makeFlow>[0] = {}) => {
    for (let i = 0; i < n; i++) backend.observer.add(makeFlow(o));
  };
  return { backend, app, add };
}

/** Reads `n` NDJSON lines, or up to the line `until` accepts. */
async function readLines(
  body: ReadableStream<Uint8Array>,
  n: number,
  until: (line: unknown) => boolean = () => false,
): Promise<unknown[]> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const out: unknown[] = [];
  let buf = "";
  while (out.length < n && !(out.length && until(out.at(-1)))) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0 && out.length < n && !(out.length && until(out.at(-1)))) {
      out.push(JSON.parse(buf.slice(0, nl)));
      buf = buf.slice(nl + 1);
    }
  }
  await reader.cancel();
  return out;
}

Deno.test("GET /v1/flows filters stored flows like hypha observe", async () => {
  const { app, add } = setup();
  add(3);
  add(2, { verdict: "DROPPED", event_type: { type: 1 } });
  add(1, { destination: { namespace: "kube-system", pod_name: "coredns-1" } });
  const get = async (qs: string) => await (await app.request(`/v1/flows?${qs}`)).json();
  const all = await get("");
  assert.equal(all.flows.length, 6);
  assert.deepEqual(all.stats, { returned: 6, size: 6, capacity: 10000, seen: 6, evicted: 0 });
  assert.equal((await get("verdict=DROPPED")).flows.length, 2);
  assert.equal((await get("verdict=DROPPED&verdict=FORWARDED")).flows.length, 6, "repeats OR");
  assert.equal((await get("verdict=FORWARDED&to-pod=kube-system/")).flows.length, 1, "fields AND");
  assert.equal((await get("not-namespace=kube-system")).flows.length, 5);
  assert.equal((await get("last=2")).flows.length, 2);
  assert.equal((await get("type=drop&first=1")).flows[0].verdict, "DROPPED");
});

Deno.test("GET /v1/flows rejects a bad filter with 400 naming the field", async () => {
  const { app } = setup();
  for (
    const [qs, field, message] of [
      ["from-ip=10.0.0.0/40", "from-ip", /Invalid --from-ip "10\.0\.0\.0\/40": must be an IP/],
      ["verdict=OK", "verdict", /must be one of FORWARDED, DROPPED/],
      ["last=0", "last", /must be a positive integer/],
      ["since=soon", "since", /must be a duration before now/],
      ["nope=1", "nope", /unknown filter/],
      [`node-name=${"*a".repeat(129)}`, "node-name", /\(258 characters\): must be at most 256/],
      [Array(65).fill("port=80").join("&"), "port", /too many filter values: at most 64/],
    ] as const
  ) {
    const res = await app.request(`/v1/flows?${qs}`);
    assert.equal(res.status, 400, qs);
    const body = await res.json();
    assert.equal(body.error.code, "invalid");
    assert.equal(body.error.field, field);
    assert.match(body.error.message, message);
  }
});

Deno.test("GET /v1/flows?follow=true streams NDJSON until the client leaves", async () => {
  const { app, add, backend } = setup();
  add(2, { verdict: "DROPPED" });
  const res = await app.request("/v1/flows?follow=true&last=1&verdict=DROPPED");
  assert.equal(res.headers.get("content-type"), "application/x-ndjson");
  add(1, { verdict: "FORWARDED" }); // filtered out
  add(1, { verdict: "DROPPED", node_name: "live" });
  const lines = await readLines(res.body!, 2) as Array<{ flow: { node_name: string } }>;
  assert.equal(lines.length, 2);
  assert.equal(lines[1]!.flow.node_name, "live");
  // reading stopped and the body was cancelled: the subscription is gone
  assert.equal(backend.observer.stats().subscribers.length, 0);
});

Deno.test("a stuck follower neither blocks the agent nor other followers", async () => {
  const { app, add, backend } = setup();
  const stuck = await app.request("/v1/flows?follow=true"); // never read
  const reader = await app.request("/v1/flows?follow=true");
  const total = 3000; // the fake's subscriber buffer is 1000
  const reading = readLines(reader.body!, total);
  for (let i = 0; i < total / 100; i++) {
    const t0 = performance.now();
    add(100);
    assert.ok(performance.now() - t0 < 1000, "add() does not wait for readers");
    await new Promise((r) => setTimeout(r, 0));
  }
  const got = await reading;
  assert.equal(got.length, total, "the reading follower got every flow");
  assert.ok(got.every((l) => "flow" in (l as object)), "and no lost-events notice");
  const subs = backend.observer.stats().subscribers;
  assert.equal(subs.length, 1, "the reader that left is removed");
  assert.equal(subs[0]!.queued, 1000, "the stuck follower's queue is bounded");
  // lost: all but its queue and the one write the stream holds (up to 100 flows of a burst)
  assert.ok(subs[0]!.lost >= total - 1001 - 100, `its drops are counted: ${subs[0]!.lost}`);
  const stats = await (await app.request("/v1/flows/stats")).json();
  assert.equal(stats.subscribers[0].lost, subs[0]!.lost);
  // once it reads, it is told what it lost
  const lines = await readLines(
    stuck.body!,
    total,
    (l) => "lost_events" in (l as object),
  ) as Array<Record<string, unknown>>;
  const notice = lines.find((l) => "lost_events" in l) as
    | { lost_events: { source: string; num_events_lost: number } }
    | undefined;
  assert.equal(notice?.lost_events.source, "HUBBLE_RING_BUFFER");
  assert.equal(notice?.lost_events.num_events_lost, subs[0]!.lost);
  assert.equal(backend.observer.stats().subscribers.length, 0);
});

Deno.test("GET /v1/flows/stats shows the store, followers and the datapath's counters", async () => {
  const { app, add } = setup();
  add(2);
  const s = await (await app.request("/v1/flows/stats")).json();
  assert.equal(s.size, 2);
  assert.equal(s.capacity, 10000);
  assert.equal(s.seen, 2);
  assert.equal(s.evicted, 0);
  assert.equal(s.byVerdict.FORWARDED, 2);
  assert.deepEqual(s.subscribers, []);
  assert.deepEqual(s.datapath, { sent: 0, lost: 0, limited: 0 });
  assert.equal(s.export, null);
});

Deno.test("GET /v1/flows?cluster=true lists every node's answer", async () => {
  const { app, add } = setup();
  add(2);
  const body = await (await app.request("/v1/flows?cluster=true&last=1")).json();
  assert.equal(body.flows.length, 1);
  assert.deepEqual(body.nodes, [{ name: "n1", ok: true, flows: 1 }]);
});

Deno.test("flow routes answer 503 when observability is off", async () => {
  const app = createApiApp(fakeBackend({ flows: () => undefined }));
  const res = await app.request("/v1/flows");
  assert.equal(res.status, 503);
  assert.match((await res.json()).error.message, /observability\.enabled is false/);
  assert.equal((await app.request("/v1/flows/stats")).status, 503);
});

Deno.test("over a real socket, a client that stops reading or disconnects costs bounded memory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hypha-flows-" });
  const socketPath = join(dir, "api.sock");
  const { app, add, backend } = setup();
  const server = await serveApi(app, { socketPath });
  try {
    // A client that sends the request and then never reads.
    const conn = await Deno.connect({ transport: "unix", path: socketPath });
    await conn.write(
      new TextEncoder().encode("GET /v1/flows?follow=true HTTP/1.1\r\nHost: x\r\n\r\n"),
    );
    const deadline = Date.now() + 5000;
    while (backend.observer.stats().subscribers.length < 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    // Far more than socket buffers hold: the server must stop pulling, the queue must fill.
    const total = 20_000;
    for (let i = 0; i < total / 500; i++) {
      add(500);
      await new Promise((r) => setTimeout(r, 1));
    }
    const [sub] = backend.observer.stats().subscribers;
    assert.ok(sub, "the stuck client is subscribed");
    assert.ok(sub.queued <= sub.buffer, `queued ${sub.queued} <= ${sub.buffer}`);
    assert.ok(sub.lost > 0, "and loses flows, counted");
    // It disconnects: its subscription ends.
    conn.close();
    const gone = Date.now() + 5000;
    while (backend.observer.stats().subscribers.length > 0 && Date.now() < gone) {
      add(1); // a write to the dead connection is what notices it
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(backend.observer.stats().subscribers.length, 0);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
