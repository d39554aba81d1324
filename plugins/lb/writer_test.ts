// LbWriter against in-memory maps (a fake of BpfMap's batch interface, with the capacities a
// test chooses): what it writes for frontends, the order of its writes (make-before-break),
// frontends that do not fit, and that a second writer over unchanged maps writes nothing.
import assert from "node:assert/strict";
import type { BpfMap } from "../../core/bpf/mod.ts";
import { addrWordsOf } from "../../core/datapath/addr.ts";
import type { LbMaps } from "./datapath.ts";
import type { BackendRef, Frontend } from "./frontends.ts";
import { LB_FE } from "./generated/lb.ts";
import { LbWriter, netPort } from "./writer.ts";

type Op = { map: string; op: "update" | "delete"; n: number };

class FakeMap<K, V> {
  readonly rows = new Map<string, [K, V]>();
  constructor(
    readonly name: string,
    readonly info: { maxEntries: number },
    readonly log: Op[],
  ) {}
  lookup(k: K): V | undefined {
    return this.rows.get(JSON.stringify(k))?.[1];
  }
  update(k: K, v: V): void {
    this.updateBatch([[k, v]]);
  }
  delete(k: K): boolean {
    this.log.push({ map: this.name, op: "delete", n: 1 });
    return this.rows.delete(JSON.stringify(k));
  }
  *entries(): IterableIterator<[K, V]> {
    yield* this.rows.values();
  }
  lookupBatch(): Array<[K, V]> {
    return [...this.rows.values()];
  }
  updateBatch(entries: Array<[K, V]>): void {
    for (const [k, v] of entries) {
      if (!this.rows.has(JSON.stringify(k)) && this.rows.size >= this.info.maxEntries) {
        throw new Error(`${this.name} is full`);
      }
      this.rows.set(JSON.stringify(k), [k, v]);
    }
    this.log.push({ map: this.name, op: "update", n: entries.length });
  }
  deleteBatch(keys: K[]): void {
    for (const k of keys) this.rows.delete(JSON.stringify(k));
    this.log.push({ map: this.name, op: "delete", n: keys.length });
  }
}

function fakeMaps(capacity: { frontends: number; slots: number; backends: number }) {
  const log: Op[] = [];
  const m = (name: string, maxEntries: number) =>
    new FakeMap(name, { maxEntries }, log) as unknown as BpfMap<unknown, unknown>;
  const maps = {
    config: m("config", 1),
    frontends: m("frontends", capacity.frontends),
    slots: m("slots", capacity.slots),
    backends: m("backends", capacity.backends),
    sourceRanges: m("sourceRanges", 100),
    ct: m("ct", 100),
    rev: m("rev", 100),
    sockRev: m("sockRev", 100),
    affinity: m("affinity", 100),
    maglev: m("maglev", 1),
  } as unknown as LbMaps;
  return { maps, log };
}

const backend = (ip: string, active = true): BackendRef => ({
  ip,
  family: 4,
  port: 8080,
  protocol: "TCP",
  active,
  ready: active,
  serving: true,
  terminating: !active,
  local: false,
});

function frontend(n: number, backends: BackendRef[], extra: Partial<Frontend> = {}): Frontend {
  const ip = `10.96.0.${n}`;
  return {
    key: `${ip}:80/TCP`,
    ip,
    family: 4,
    port: 80,
    protocol: "TCP",
    kind: "ClusterIP",
    service: `x/s${n}`,
    portName: "",
    external: false,
    socket: true,
    trafficPolicy: "Cluster",
    algorithm: "random",
    sourceRanges: [],
    backends,
    dropWhenEmpty: false,
    ...extra,
  };
}

const opts = { maglevM: 251, seed: "test", dsr: false };

Deno.test("LbWriter.apply() writes frontends, slots and backends make-before-break", () => {
  const { maps, log } = fakeMaps({ frontends: 10, slots: 10, backends: 10 });
  const w = new LbWriter(maps, opts);
  const r = w.apply([frontend(1, [backend("10.244.0.1"), backend("10.244.0.2")])]);
  assert.equal(r.frontends.added, 1);
  assert.equal(r.slots.added, 2);
  assert.equal(r.backends.added, 2);
  const fe = maps.frontends.lookupBatch()[0]![1];
  assert.equal(fe.count, 2);
  assert.equal(fe.flags, LB_FE.SOCKET);
  const be = maps.backends.lookupBatch().map(([, v]) => v);
  assert.ok(be.every((b) => b.port === netPort(8080) && b.proto === 6));
  // the order: everything a frontend points at first, the frontend last
  const order = log.filter((o) => o.op === "update").map((o) => o.map);
  assert.ok(order.indexOf("frontends") > order.indexOf("slots"));
  assert.ok(order.indexOf("frontends") > order.indexOf("backends"));

  // one backend goes: the frontend's count drops before its last slot is deleted
  log.length = 0;
  const r2 = w.apply([frontend(1, [backend("10.244.0.1")])]);
  assert.equal(r2.frontends.updated, 1);
  assert.equal(r2.slots.removed, 1);
  assert.equal(r2.backends.removed, 1);
  const frontendWrite = log.findIndex((o) => o.map === "frontends");
  const slotDelete = log.findIndex((o) => o.map === "slots" && o.op === "delete");
  assert.ok(frontendWrite < slotDelete, JSON.stringify(log));
});

Deno.test("LbWriter.apply() keeps terminating backends out of the slots", () => {
  const { maps } = fakeMaps({ frontends: 10, slots: 10, backends: 10 });
  const w = new LbWriter(maps, opts);
  w.apply([frontend(1, [backend("10.244.0.1"), backend("10.244.0.2", false)])]);
  assert.equal(maps.frontends.lookupBatch()[0]![1].count, 1);
  assert.equal(maps.slots.lookupBatch().length, 1);
  assert.equal(maps.backends.lookupBatch().length, 2, "still known: its connections live on");
});

Deno.test("LbWriter.apply() reports frontends that do not fit and serves the rest", () => {
  const { maps } = fakeMaps({ frontends: 10, slots: 5, backends: 10 });
  const w = new LbWriter(maps, opts);
  const two = (n: number) => frontend(n, [backend(`10.244.${n}.1`), backend(`10.244.${n}.2`)]);
  const r = w.apply([two(1), two(2), two(3)]);
  assert.equal(r.problems.length, 1);
  assert.deepEqual(r.problems[0], {
    object: "Service x/s3",
    path: "10.96.0.3:80/TCP",
    message: "not served: the slot map is full (5 entries)",
  });
  assert.equal(maps.frontends.lookupBatch().length, 2);
  assert.equal(maps.slots.lookupBatch().length, 4);
});

Deno.test("LbWriter.apply() falls back to random when no Maglev table is left", () => {
  const { maps } = fakeMaps({ frontends: 10, slots: 10, backends: 10 });
  const w = new LbWriter(maps, opts);
  const mg = (n: number) => frontend(n, [backend(`10.244.${n}.1`)], { algorithm: "maglev" });
  const r = w.apply([mg(1), mg(2)]);
  assert.deepEqual(r.problems.map((p) => p.message), [
    "Maglev tables are full (1): balanced at random",
  ]);
  const flags = maps.frontends.lookupBatch().map(([, v]) => v.flags & LB_FE.MAGLEV);
  assert.deepEqual(flags.sort(), [0, LB_FE.MAGLEV]);
});

Deno.test("LbWriter.apply() gives a Maglev table to a fallen-back frontend once one frees", async (t) => {
  const mg = (n: number, algorithm: "maglev" | "random" = "maglev") =>
    frontend(n, [backend(`10.244.${n}.1`)], { algorithm });
  const maglevOf = (maps: LbMaps) =>
    maps.frontends.lookupBatch().map(([, v]) => [v.id, v.flags & LB_FE.MAGLEV] as const)
      .filter(([, f]) => f).map(([id]) => id);
  const tables = (maps: LbMaps) => maps.maglev.lookupBatch().map(([id]) => id);
  const setup = () => {
    const { maps } = fakeMaps({ frontends: 10, slots: 10, backends: 10 });
    const w = new LbWriter(maps, opts);
    const first = w.apply([mg(1), mg(2)]);
    assert.equal(first.problems.length, 1, "s2 falls back: one table for two frontends");
    return { maps, w, id2: w.frontendIds.get(mg(2).key)! };
  };

  await t.step("the holder goes: the other takes its table in the same apply", () => {
    const { maps, w, id2 } = setup();
    const r = w.apply([mg(2)]);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(maglevOf(maps), [id2]);
    assert.deepEqual(tables(maps), [id2]);
    assert.equal(r.maglev.written, 1);
    assert.equal(r.maglev.removed, 1);
  });

  await t.step("the holder turns to random: the other takes its table", () => {
    const { maps, w, id2 } = setup();
    const r = w.apply([mg(1, "random"), mg(2)]);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(maglevOf(maps), [id2]);
    assert.deepEqual(tables(maps), [id2]);
  });

  await t.step("an unchanged apply keeps the fallback and writes nothing", () => {
    const { maps, w } = setup();
    const r = w.apply([mg(1), mg(2)]);
    assert.equal(r.changed, 0);
    assert.deepEqual(r.problems.map((p) => p.path), [mg(2).key]);
    assert.equal(tables(maps).length, 1);
  });

  await t.step("a holder keeps its table against a newcomer that sorts first", () => {
    const { maps } = fakeMaps({ frontends: 10, slots: 10, backends: 10 });
    const w = new LbWriter(maps, opts);
    w.apply([mg(2)]);
    const id2 = w.frontendIds.get(mg(2).key)!;
    const r = w.apply([mg(1), mg(2)]);
    assert.deepEqual(r.problems.map((p) => p.path), [mg(1).key]);
    assert.deepEqual(maglevOf(maps), [id2]);
    assert.deepEqual(tables(maps), [id2]);
  });
});

Deno.test("a new LbWriter over unchanged maps adopts their ids and writes nothing", () => {
  const { maps, log } = fakeMaps({ frontends: 10, slots: 10, backends: 10 });
  const fes = [
    frontend(1, [backend("10.244.0.1"), backend("10.244.0.2")]),
    frontend(2, [backend("10.244.0.2")]),
  ];
  const first = new LbWriter(maps, opts);
  first.apply(fes);
  log.length = 0;
  const second = new LbWriter(maps, opts);
  second.apply(fes);
  assert.deepEqual(log, [], "no write");
  assert.equal(
    second.frontendIds.get("10.96.0.2:80/TCP"),
    first.frontendIds.get("10.96.0.2:80/TCP"),
  );
  assert.equal(
    second.backendIds.get("10.244.0.2|8080|TCP"),
    first.backendIds.get("10.244.0.2|8080|TCP"),
  );
});

Deno.test("LbWriter.apply() rebuilds only what changed and keeps shared backends", () => {
  const { maps, log } = fakeMaps({ frontends: 10, slots: 10, backends: 10 });
  const w = new LbWriter(maps, opts);
  const shared = backend("10.244.0.9");
  const fes = [
    frontend(1, [backend("10.244.0.1"), shared]),
    frontend(2, [shared]),
  ];
  w.apply(fes);
  log.length = 0;
  const same = w.apply(fes.map((f) => ({ ...f, backends: [...f.backends] })));
  assert.equal(same.changed, 0);
  assert.deepEqual(log, [], "an unchanged apply writes nothing");
  // frontend 1 goes: its own backend goes, the shared one stays for frontend 2
  const r = w.apply([fes[1]!]);
  assert.equal(r.removed, 1);
  assert.equal(r.frontends.removed, 1);
  assert.equal(r.slots.removed, 2);
  assert.equal(r.backends.removed, 1);
  const left = maps.backends.lookupBatch().map(([, v]) => v.addr);
  assert.deepEqual(left, [addrWordsOf("10.244.0.9")], "the shared backend stays");
  assert.equal(maps.slots.lookupBatch().length, 1);
});
