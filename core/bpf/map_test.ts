import assert from "node:assert/strict";
import { join } from "node:path";
import { struct, u16, u32, u64, u8 } from "./codec.ts";
import { BpfError } from "./errors.ts";
import { BpfMap, mapWriteCount } from "./map.ts";
import { BpfObject } from "./object.ts";
import { fixturePath, tempBpffs } from "./_testing.ts";

interface Key {
  id: number;
  port: number;
  proto: number;
}
interface Value {
  packets: bigint;
  bytes: bigint;
  flags: number;
}
const keyCodec = struct<Key>(8, { id: [0, u32], port: [4, u16], proto: [6, u8] });
const valueCodec = struct<Value>(24, { packets: [0, u64], bytes: [8, u64], flags: [16, u32] });
const key = (id: number): Key => ({ id, port: 80, proto: 6 });
const value = (n: number): Value => ({ packets: BigInt(n), bytes: BigInt(n * 100), flags: n % 7 });

function openHash(): { obj: BpfObject; map: BpfMap<Key, Value> } {
  const obj = BpfObject.open(fixturePath("fixture"));
  obj.load();
  return { obj, map: obj.map("fixture_hash", keyCodec, valueCodec) };
}

Deno.test("BpfMap lookup/update/delete follow the kernel's semantics", async (t) => {
  const { obj, map } = openHash();
  using _obj = obj;
  using _map = map;
  await t.step("update then lookup returns the value", () => {
    map.update(key(1), value(1));
    assert.deepEqual(map.lookup(key(1)), value(1));
  });
  await t.step("lookup of a missing key is undefined", () => {
    assert.equal(map.lookup(key(2)), undefined);
  });
  await t.step("noexist refuses an existing key, exist refuses a missing one", () => {
    assert.throws(() => map.update(key(1), value(5), "noexist"), /EEXIST/);
    assert.throws(() => map.update(key(9), value(5), "exist"), /ENOENT/);
  });
  await t.step("delete reports whether the key was there", () => {
    assert.equal(map.delete(key(1)), true);
    assert.equal(map.delete(key(1)), false);
  });
  await t.step("every write is counted", () => {
    const before = mapWriteCount();
    map.update(key(3), value(3));
    map.delete(key(3));
    assert.equal(mapWriteCount() - before, 2);
  });
});

Deno.test("BpfMap iterates and batch-updates, batch-reads and batch-deletes", () => {
  const { obj, map } = openHash();
  using _obj = obj;
  using _map = map;
  const entries: Array<[Key, Value]> = [];
  for (let i = 0; i < 10_000; i++) entries.push([key(i), value(i)]);
  map.updateBatch(entries);
  assert.equal(map.count(), 10_000);
  const read = map.lookupBatch();
  assert.equal(read.length, 10_000);
  const byId = new Map(read.map(([k, v]) => [k.id, v]));
  assert.deepEqual(byId.get(4321), value(4321));
  assert.equal([...map.entries()].length, 10_000);
  map.deleteBatch(entries.slice(0, 6_000).map(([k]) => k));
  assert.equal(map.count(), 4_000);
  assert.deepEqual([...map.keys()].map((k) => k.id).sort((a, b) => a - b)[0], 6_000);
});

Deno.test("BpfMap pins and re-opens a map by path", async () => {
  await using fs = await tempBpffs();
  const path = join(fs.path, "pinned_hash");
  {
    const { obj, map } = openHash();
    using _obj = obj;
    using _map = map;
    map.update(key(42), value(42));
    map.pin(path);
  }
  using reopened = BpfMap.openPinned(path, keyCodec, valueCodec);
  assert.equal(reopened.info.name, "fixture_hash");
  assert.deepEqual(reopened.lookup(key(42)), value(42));
});

Deno.test("BpfMap refuses codecs whose sizes differ from the map", () => {
  using obj = BpfObject.open(fixturePath("fixture"));
  obj.load();
  assert.throws(
    () => obj.map("fixture_hash", u32, valueCodec),
    (e: unknown) =>
      e instanceof BpfError && /key=4 .* do not match the map's key=8/.test(e.message),
  );
});

Deno.test("BpfMap.openPinned() names the path when nothing is pinned there", () => {
  assert.throws(
    () => BpfMap.openPinned("/sys/fs/bpf/does-not-exist", u32, u32),
    /opening pinned map "\/sys\/fs\/bpf\/does-not-exist"/,
  );
});
