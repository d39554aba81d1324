import assert from "node:assert/strict";
import { isSupportedVersion, isV1, versionAtLeast, versionResult } from "./version.ts";

Deno.test("versionResult() echoes the input cniVersion and lists the supported versions", async (t) => {
  const cases: Array<[string | undefined, string]> = [
    ["1.0.0", "1.0.0"],
    ["0.4.0", "0.4.0"],
    ["0.2.0", "0.2.0"], // the spec echoes the input even when hypha does not speak it
    [undefined, "1.1.0"],
    ["", "1.1.0"],
    ["garbage", "1.1.0"],
  ];
  for (const [input, want] of cases) {
    await t.step(`input ${JSON.stringify(input)}`, () => {
      assert.deepEqual(versionResult(input), {
        cniVersion: want,
        supportedVersions: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
      });
    });
  }
});

Deno.test("versionAtLeast() and isV1() order the supported versions", () => {
  assert.ok(versionAtLeast("1.1.0", "0.4.0"));
  assert.ok(versionAtLeast("0.4.0", "0.4.0"));
  assert.ok(!versionAtLeast("0.3.1", "0.4.0"));
  assert.ok(isV1("1.0.0") && isV1("1.1.0") && !isV1("0.4.0"));
  assert.ok(isSupportedVersion("0.3.0") && !isSupportedVersion("0.2.0") && !isSupportedVersion(1));
});
