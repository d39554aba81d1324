import assert from "node:assert/strict";
import { portRangePrefixes, prefixContains } from "./port_prefixes.ts";

Deno.test("portRangePrefixes() covers a range with the fewest aligned blocks", async (t) => {
  const cases: Array<[number, number, Array<[number, number]>]> = [
    [80, 80, [[80, 16]]],
    [0, 65535, [[0, 0]]],
    [8080, 8081, [[8080, 15]]],
    [8081, 8082, [[8081, 16], [8082, 16]]],
    [32000, 32768, [[32000, 8], [32256, 7], [32768, 16]]],
  ];
  for (const [from, to, want] of cases) {
    await t.step(`${from}-${to}`, () => {
      const got = portRangePrefixes(from, to).map((p) => [p.port, p.bits]);
      assert.deepEqual(got, want);
      // every port of the range is covered exactly once
      let covered = 0;
      for (const p of portRangePrefixes(from, to)) covered += 2 ** (16 - p.bits);
      assert.equal(covered, to - from + 1);
    });
  }
  assert.throws(() => portRangePrefixes(90, 80), /Invalid port range 90-80/);
});

Deno.test("prefixContains() compares aligned blocks", () => {
  assert.ok(prefixContains({ port: 0, bits: 0 }, { port: 80, bits: 16 }));
  assert.ok(prefixContains({ port: 8080, bits: 15 }, { port: 8081, bits: 16 }));
  assert.ok(!prefixContains({ port: 8080, bits: 16 }, { port: 8080, bits: 15 }));
  assert.ok(!prefixContains({ port: 8082, bits: 15 }, { port: 8081, bits: 16 }));
});
