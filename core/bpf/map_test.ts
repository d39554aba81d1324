import assert from "node:assert/strict";
import { join } from "node:path";
import { u32 } from "./codec.ts";
import { BpfError } from "./errors.ts";
import { BpfMap, mapWriteCount } from "./map.ts";
import { BpfObject } from "./object.ts";
import { fixturePath, tempBpffs } from "./_testing.ts";
import {
  type FixtureKey,
  fixtureKey,
  type FixtureValue,
  fixtureValue,
  keyOf,
  valueOf,
} from "./testdata/fixture_codecs.ts";

function openHash(): { obj: BpfObject; map: BpfMap<FixtureKey, FixtureValue> } {
  const obj = BpfObject.open(fixturePath("fixture"));
  obj.load();
  return { obj, map: obj.map("fixture_hash", fixtureKey, fixtureValue) };
}

Deno.test("BpfMap lookup/update/delete follow the kernel's semantics", async (t) => {
  const { obj, map } = openHash();
  using _obj = obj;
  using _map = map;
  await t.step("update then lookup returns the value", () => {
    map.update(keyOf(1), valueOf(1));
    assert.deepEqual(map.lookup(keyOf(1)), valueOf(1));
  });
  await t.step("lookup of a missing key is undefined", () => {
    assert.equal(map.lookup(keyOf(2)), undefined);
  });
  await t.step("noexist refuses an existing key, exist refuses a missing one", () => {
    assert.throws(() => map.update(keyOf(1), valueOf(5), "noexist"), /EEXIST/);
    assert.throws(() => map.update(keyOf(9), valueOf(5), "exist"), /ENOENT/);
  });
  await t.step("delete reports whether the key was there", () => {
    assert.equal(map.delete(keyOf(1)), true);
    assert.equal(map.delete(keyOf(1)), false);
  });
  await t.step("every write is counted", () => {
    const before = mapWriteCount();
    map.update(keyOf(3), valueOf(3));
    map.delete(keyOf(3));
    assert.equal(mapWriteCount() - before, 2);
  });
});

Deno.test("BpfMap iterates and batch-updates, batch-reads and batch-deletes", () => {
  const { obj, map } = openHash();
  using _obj = obj;
  using _map = map;
  const entries: Array<[FixtureKey, FixtureValue]> = [];
  for (let i = 0; i < 10_000; i++) entries.push([keyOf(i), valueOf(i)]);
  map.updateBatch(entries);
  assert.equal(map.count(), 10_000);
  const read = map.lookupBatch();
  assert.equal(read.length, 10_000);
  const byId = new Map(read.map(([k, v]) => [k.id, v]));
  assert.deepEqual(byId.get(4321), valueOf(4321));
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
    map.update(keyOf(42), valueOf(42));
    map.pin(path);
  }
  using reopened = BpfMap.openPinned(path, fixtureKey, fixtureValue);
  assert.equal(reopened.info.name, "fixture_hash");
  assert.deepEqual(reopened.lookup(keyOf(42)), valueOf(42));
});

Deno.test("BpfMap refuses codecs whose sizes differ from the map", () => {
  using obj = BpfObject.open(fixturePath("fixture"));
  obj.load();
  assert.throws(
    () => obj.map("fixture_hash", u32, fixtureValue),
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
