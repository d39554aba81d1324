import assert from "node:assert/strict";
import { canonicalJson, type MapTarget, reconcileMap } from "./map_reconciler.ts";

/** An in-memory map target that records writes (a fake is fine: this is pure diff logic). */
class RecordingMap implements MapTarget<number, { v: bigint }> {
  data = new Map<number, { v: bigint }>();
  writes: string[] = [];
  failOn = new Set<number>();
  entries() {
    return this.data.entries();
  }
  update(k: number, v: { v: bigint }) {
    if (this.failOn.has(k)) throw new Error(`map full at ${k}`);
    this.writes.push(`update ${k}`);
    this.data.set(k, v);
  }
  delete(k: number) {
    this.writes.push(`delete ${k}`);
    return this.data.delete(k);
  }
}

const opts = { keyId: (k: number) => String(k) };

Deno.test("reconcileMap() writes only the differences", () => {
  const m = new RecordingMap();
  m.data.set(1, { v: 1n }).set(2, { v: 2n }).set(3, { v: 3n });
  const r = reconcileMap(m, [[1, { v: 1n }], [2, { v: 20n }], [4, { v: 4n }]], opts);
  assert.deepEqual(r, { added: 1, updated: 1, removed: 1, unchanged: 1, errors: [] });
  assert.deepEqual(m.writes.sort(), ["delete 3", "update 2", "update 4"]);
});

Deno.test("reconcileMap() of an unchanged table performs zero writes", () => {
  const m = new RecordingMap();
  const desired: Array<[number, { v: bigint }]> = [[1, { v: 1n }], [2, { v: 2n }]];
  reconcileMap(m, desired, opts);
  m.writes = [];
  const r = reconcileMap(m, desired, opts);
  assert.equal(r.unchanged, 2);
  assert.deepEqual(m.writes, []);
});

Deno.test("reconcileMap() keeps going past a failed key and reports it", () => {
  const m = new RecordingMap();
  m.failOn.add(2);
  const r = reconcileMap(m, [[1, { v: 1n }], [2, { v: 2n }], [3, { v: 3n }]], opts);
  assert.equal(r.added, 2);
  assert.deepEqual(r.errors, [{ key: "2", message: "map full at 2" }]);
});

Deno.test("reconcileMap() with keepUnknown leaves foreign entries alone", () => {
  const m = new RecordingMap();
  m.data.set(9, { v: 9n });
  reconcileMap(m, [[1, { v: 1n }]], { ...opts, keepUnknown: true });
  assert.ok(m.data.has(9));
});

Deno.test("canonicalJson() is independent of key order and handles bigint and bytes", () => {
  assert.equal(
    canonicalJson({ b: 1n, a: new Uint8Array([1, 2]) }),
    canonicalJson({ a: new Uint8Array([1, 2]), b: 1n }),
  );
});
