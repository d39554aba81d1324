import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { perCpu, u32, u64 } from "./codec.ts";
import { possibleCpus } from "./map.ts";
import { BpfError, PinnedMapMismatchError, VerifierError } from "./errors.ts";
import { BpfObject } from "./object.ts";
import { fixturePath, tempBpffs } from "./_testing.ts";

Deno.test("BpfObject.open() parses programs and maps without touching the kernel", () => {
  using obj = BpfObject.open(fixturePath("fixture"));
  assert.deepEqual(obj.programNames().sort(), ["fixture_connect4", "fixture_tc", "fixture_xdp"]);
  const hash = obj.maps().find((m) => m.name === "fixture_hash");
  assert.deepEqual(hash, {
    name: "fixture_hash",
    type: "hash",
    keySize: 8,
    valueSize: 24,
    maxEntries: 200000,
    pinPath: null,
  });
  assert.equal(obj.loaded, false);
});

Deno.test("BpfObject.open() rejects corrupt and missing objects with a clear error", async (t) => {
  await t.step("not an ELF file", () => {
    assert.throws(
      () => BpfObject.open(new TextEncoder().encode("hello"), { name: "junk.o" }),
      (e: unknown) => e instanceof BpfError && /junk\.o.*not an ELF file/.test(e.message),
    );
  });
  await t.step("truncated ELF", () => {
    const bytes = Deno.readFileSync(fixturePath("fixture")).slice(0, 200);
    assert.throws(() => BpfObject.open(bytes, { name: "cut.o" }), /opening BPF object "cut\.o"/);
  });
  await t.step("missing file", () => {
    assert.throws(() => BpfObject.open("/nonexistent/x.o"), /reading BPF object/);
  });
});

Deno.test("BpfObject.load() surfaces the verifier log of a rejected program", () => {
  using obj = BpfObject.open(fixturePath("fixture_unverifiable"));
  assert.throws(() => obj.load(), (e: unknown) => {
    assert.ok(e instanceof VerifierError, String(e));
    assert.equal(e.program, "fixture_unchecked_read");
    assert.match(e.log, /invalid access to packet|R\d+ invalid/);
    return true;
  });
});

Deno.test("BpfObject.pinMaps() pins maps and a second load reuses them", async () => {
  await using fs = await tempBpffs();
  const counts = perCpu(u64, possibleCpus());
  {
    using first = BpfObject.open(fixturePath("fixture"));
    first.pinMaps(fs.path);
    first.load();
    using percpu = first.map("fixture_percpu", u32, counts);
    percpu.update(3, Array(possibleCpus()).fill(7n));
  }
  assert.ok(existsSync(join(fs.path, "fixture_hash")));
  using second = BpfObject.open(fixturePath("fixture"));
  second.pinMaps(fs.path);
  second.load();
  using again = second.map("fixture_percpu", u32, counts);
  assert.equal(again.lookup(3)?.[0], 7n);
});

Deno.test("BpfObject.pinMaps() refuses a pinned map whose layout changed", async () => {
  await using fs = await tempBpffs();
  {
    using first = BpfObject.open(fixturePath("fixture"));
    first.pinMaps(fs.path);
    first.load();
  }
  using changed = BpfObject.open(fixturePath("fixture_resized"));
  assert.throws(() => changed.pinMaps(fs.path), (e: unknown) => {
    assert.ok(e instanceof PinnedMapMismatchError);
    assert.match(e.message, /key size 8 -> 8|value size 24 -> 8/);
    assert.match(e.message, /max entries 200000 -> 1024/);
    assert.match(e.message, /hypha cleanup/);
    return true;
  });
});
