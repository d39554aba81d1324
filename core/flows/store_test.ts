import assert from "node:assert/strict";
import { FlowStore } from "./store.ts";
import { type FlowEvent, isLostEvents } from "./events.ts";
import type { Flow } from "./flow.ts";
import { FlowDecoder } from "./decode.ts";
import { eventBytes, htons, makeFlow, testContext } from "./_testing.ts";

const ports = (flows: Flow[]) =>
  flows.map((f) => f.l4 && "TCP" in f.l4 ? f.l4.TCP.destination_port : -1);
const tcp = (port: number, at = port) =>
  makeFlow({ at, l4: { TCP: { source_port: 40000, destination_port: port } } });

async function take(it: AsyncIterator<FlowEvent>, n: number): Promise<FlowEvent[]> {
  const out: FlowEvent[] = [];
  for (let i = 0; i < n; i++) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

Deno.test("FlowStore keeps the newest flows and evicts the oldest", () => {
  const store = new FlowStore({ capacity: 3 });
  for (let p = 1; p <= 5; p++) store.add(tcp(p));
  assert.deepEqual(ports(store.query(undefined)), [3, 4, 5]);
  const s = store.stats();
  assert.equal(s.size, 3);
  assert.equal(s.capacity, 3);
  assert.equal(s.seen, 5);
  assert.equal(s.evicted, 2);
  assert.equal(s.byVerdict.FORWARDED, 5);
  assert.equal(s.byVerdict.DROPPED, 0);
});

Deno.test("FlowStore keeps the flow objects themselves", () => {
  const store = new FlowStore({ capacity: 2 });
  const f = tcp(80);
  store.add(f);
  assert.equal(store.query(undefined)[0], f);
});

Deno.test("FlowStore.query() selects like hubble observe", async (t) => {
  const store = new FlowStore({ capacity: 100 });
  for (let p = 1; p <= 10; p++) store.add(tcp(p));
  store.add(makeFlow({ at: 11, verdict: "DROPPED", event_type: { type: 1 } }));
  await t.step("last N: the most recent matching, in time order", () => {
    assert.deepEqual(ports(store.query(undefined, { last: 3 })), [9, 10, 5432]);
    assert.deepEqual(
      ports(store.query({ allow: [{ verdict: ["FORWARDED"] }] }, { last: 2 })),
      [9, 10],
    );
  });
  await t.step("first N: the oldest matching", () => {
    assert.deepEqual(ports(store.query(undefined, { first: 2 })), [1, 2]);
  });
  await t.step("since and until are inclusive", () => {
    const at = (s: number) => Date.UTC(2026, 11, 5, 10, 15, 42) + s * 1000;
    assert.deepEqual(ports(store.query(undefined, { since: at(4), until: at(6) })), [4, 5, 6]);
    assert.deepEqual(ports(store.query(undefined, { since: at(9), last: 1 })), [5432]);
  });
  await t.step("a predicate or a filter set", () => {
    assert.equal(store.query((f) => f.verdict === "DROPPED").length, 1);
    assert.equal(store.query({ deny: [{ verdict: ["DROPPED"] }] }).length, 10);
  });
});

Deno.test("FlowStore.follow() streams matching flows after the stored ones", async () => {
  const store = new FlowStore({ capacity: 100 });
  store.add(tcp(1));
  store.add(tcp(2));
  const sub = store.follow({ allow: [{ destination_port: ["2", "3", "4"] }] }, { last: 5 });
  store.add(tcp(3));
  store.add(tcp(5)); // does not match
  store.add(tcp(4));
  const got = await take(sub, 3);
  assert.deepEqual(got.map((e) => !isLostEvents(e) && ports([e.flow])[0]), [2, 3, 4]);
  // a reader waiting for the next flow gets it when it comes
  const next = sub.next();
  store.add(tcp(2));
  const r = await next;
  assert.equal(!r.done && !isLostEvents(r.value) && r.value.node_name, "node1");
  assert.equal(store.stats().subscribers.length, 1);
  sub.close();
  assert.equal(store.stats().subscribers.length, 0, "a closed subscription is removed");
  assert.deepEqual(await sub.next(), { value: undefined, done: true });
});

Deno.test("a slow follower loses flows, counted and told, and blocks no one", async () => {
  const store = new FlowStore({ capacity: 1000, subscriberBuffer: 10, nodeName: "node1" });
  const slow = store.follow(undefined);
  const fast = store.follow(undefined);
  const fastGot: FlowEvent[] = [];
  const reading = (async () => {
    for await (const e of fast) {
      fastGot.push(e);
      if (fastGot.length === 100) break;
    }
  })();
  for (let p = 1; p <= 100; p++) {
    store.add(tcp(p)); // never waits for readers
    await Promise.resolve(); // let the fast reader run
  }
  await reading;
  assert.equal(fastGot.length, 100);
  assert.ok(fastGot.every((e) => !isLostEvents(e)), "the fast reader lost nothing");
  // the slow reader has its 10 queued flows, then a notice of the 90 it lost
  const stats = store.stats().subscribers.find((s) => s.id === slow.id)!;
  assert.deepEqual({ queued: stats.queued, lost: stats.lost }, { queued: 10, lost: 90 });
  const slowGot = await take(slow, 11);
  assert.deepEqual(ports(slowGot.slice(0, 10).map((e) => (e as { flow: Flow }).flow)), [
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
  ]);
  const notice = slowGot[10]!;
  assert.ok(isLostEvents(notice));
  assert.deepEqual(notice.lost_events, {
    source: "HUBBLE_RING_BUFFER",
    num_events_lost: 90,
    cpu: null,
  });
  assert.equal(notice.node_name, "node1");
  // with room again, flows flow
  store.add(tcp(101));
  const [after] = await take(slow, 1);
  assert.ok(after && !isLostEvents(after) && ports([after.flow])[0] === 101);
  assert.equal(store.stats().subscriberDrops, 90);
  slow.close();
  assert.equal(store.stats().subscriberDrops, 90, "drops of ended subscriptions still count");
});

Deno.test("a lost-events notice takes its place in the stream once there is room", async () => {
  const store = new FlowStore({ capacity: 100, subscriberBuffer: 2 });
  const sub = store.follow(undefined);
  store.add(tcp(1));
  store.add(tcp(2));
  store.add(tcp(3)); // lost
  await take(sub, 1); // room for one
  store.add(tcp(4)); // the notice takes the room, 4 is lost too
  await take(sub, 1);
  store.add(tcp(5)); // room: 5 queued after the notice
  const events = await take(sub, 2);
  assert.ok(isLostEvents(events[0]!));
  assert.equal(
    (events[0] as { lost_events: { num_events_lost: number } }).lost_events.num_events_lost,
    2,
  );
  assert.deepEqual(ports([(events[1] as { flow: Flow }).flow]), [5]);
  sub.close();
});

Deno.test("reportLost() counts datapath losses and tells every follower", async () => {
  const store = new FlowStore({ capacity: 10 });
  const sub = store.follow(undefined);
  store.reportLost("PERF_EVENT_RING_BUFFER", 7);
  const [e] = await take(sub, 1);
  assert.ok(e && isLostEvents(e));
  assert.equal(e.lost_events.source, "PERF_EVENT_RING_BUFFER");
  assert.equal(e.lost_events.num_events_lost, 7);
  assert.deepEqual(store.stats().lostBefore, { PERF_EVENT_RING_BUFFER: 7 });
  sub.close();
});

Deno.test("follow() ends on abort, and close() ends every follower", async () => {
  const store = new FlowStore({ capacity: 10 });
  const ac = new AbortController();
  const a = store.follow(undefined, { signal: ac.signal });
  const b = store.follow(undefined);
  const pending = a.next();
  ac.abort();
  assert.deepEqual(await pending, { value: undefined, done: true });
  assert.equal(store.stats().subscribers.length, 1);
  store.close();
  assert.equal(b.closed, true);
  assert.equal(store.stats().subscribers.length, 0);
  const aborted = AbortSignal.abort();
  assert.equal(store.follow(undefined, { signal: aborted }).closed, true);
  assert.equal(store.stats().subscribers.length, 0);
});

Deno.test("addEvent() keeps datapath events and makes their flows when they are read", async () => {
  const store = new FlowStore({ capacity: 3, decoder: new FlowDecoder(testContext()) });
  for (let p = 1; p <= 4; p++) {
    assert.equal(store.addEvent(eventBytes({ dport: htons(p) })), undefined, "no reader: no flow");
  }
  store.add(tcp(5)); // flows and events share the ring
  const stored = store.query(undefined);
  assert.deepEqual(ports(stored), [3, 4, 5]);
  assert.equal(stored[0]!.source.pod_name, "web-5d9c7b8f4-x2k9z");
  assert.equal(store.query(undefined)[0]!.uuid, stored[0]!.uuid, "the same flow each time");
  assert.deepEqual(store.stats().byVerdict.FORWARDED, 5);
  assert.equal(store.stats().evicted, 2);
  assert.deepEqual(ports(store.query({ allow: [{ destination_port: ["4"] }] })), [4]);

  // a follower gets each new event as a flow, and the export (want) too
  const sub = store.follow(undefined);
  const flow = store.addEvent(eventBytes({ dport: htons(6), verdict: 2, type: 1 }));
  assert.ok(flow);
  assert.equal(store.addEvent(eventBytes({ dport: htons(7) }), true)?.verdict, "FORWARDED");
  const got = await take(sub, 2);
  assert.deepEqual(got.map((e) => (e as { flow: Flow }).flow.uuid), [
    flow.uuid,
    store.query(undefined, { last: 1 })[0]!.uuid,
  ]);
  assert.equal(store.stats().byVerdict.DROPPED, 1);
  sub.close();

  // a malformed record is refused and stores nothing
  assert.throws(() => store.addEvent(new Uint8Array(10)), RangeError);
  assert.equal(store.stats().seen, 7);
  assert.deepEqual(ports(store.query(undefined)), [5, 6, 7]);
  assert.throws(() => new FlowStore().addEvent(eventBytes()), /needs a decoder/);
});

Deno.test("FlowStore rejects a capacity that is not a positive integer", () => {
  assert.throws(() => new FlowStore({ capacity: 0 }), /capacity must be a positive integer, got 0/);
});
