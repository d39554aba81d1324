import assert from "node:assert/strict";
import { DesiredMap } from "./desired_map.ts";

/** An in-memory stand-in for a BPF map that counts writes (pure logic test). */
class FakeMap {
  readonly rows = new Map<string, number>();
  writes = 0;
  entries() {
    return this.rows.entries();
  }
  lookup(k: string) {
    return this.rows.get(k);
  }
  update(k: string, v: number) {
    this.writes++;
    this.rows.set(k, v);
  }
  delete(k: string) {
    this.writes++;
    return this.rows.delete(k);
  }
}

Deno.test("DesiredMap.flush() writes only dirty keys whose kernel value differs", () => {
  const kernel = new FakeMap();
  kernel.rows.set("a", 1);
  const m = new DesiredMap(kernel, (k: string) => k);
  m.set("a", 1);
  m.set("b", 2);
  const r = m.flush();
  assert.deepEqual([r.added, r.updated, r.unchanged, r.removed], [1, 0, 1, 0]);
  assert.equal(kernel.writes, 1);
  assert.equal(m.pending, 0);
  m.delete("a");
  m.flush();
  assert.deepEqual([...kernel.rows.keys()], ["b"]);
});

Deno.test("DesiredMap.sync() removes entries that are not desired and leaves equal ones", () => {
  const kernel = new FakeMap();
  kernel.rows.set("stale", 9);
  kernel.rows.set("keep", 1);
  const m = new DesiredMap(kernel, (k: string) => k);
  m.replaceAll([["keep", 1]]);
  const r = m.sync();
  assert.equal(r.removed, 1);
  assert.equal(r.unchanged, 1);
  assert.equal(kernel.writes, 1);
  assert.equal(m.sync().unchanged, 1);
  assert.equal(kernel.writes, 1, "a second sync writes nothing");
});

Deno.test("DesiredMap.flush() keeps failed keys dirty and retries them", () => {
  const kernel = new FakeMap();
  let fail = true;
  const target = {
    entries: () => kernel.entries(),
    lookup: (k: string) => kernel.lookup(k),
    update: (k: string, v: number) => {
      if (fail) throw new Error("map full");
      kernel.update(k, v);
    },
    delete: (k: string) => kernel.delete(k),
  };
  const m = new DesiredMap(target, (k: string) => k);
  m.set("x", 1);
  assert.equal(m.flush().errors.length, 1);
  assert.equal(m.pending, 1);
  fail = false;
  assert.equal(m.flush().added, 1);
  assert.equal(m.pending, 0);
});
