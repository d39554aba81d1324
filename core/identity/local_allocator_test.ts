import assert from "node:assert/strict";
import { join } from "node:path";
import { damagedStateFiles } from "../state_files/mod.ts";
import { FIRST_ALLOCATED_IDENTITY, LocalIdentityAllocator } from "./local_allocator.ts";

Deno.test("LocalIdentityAllocator keeps numbers across opens and survives a damaged file", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "hypha-ids-" });
  const file = join(dir, "identities.json");
  try {
    await t.step("numbers persist", async () => {
      const a = await LocalIdentityAllocator.open(dir);
      const [x, y] = await Promise.all([a.identityFor({ app: "x" }), a.identityFor({ app: "y" })]);
      assert.deepEqual([x, y], [FIRST_ALLOCATED_IDENTITY, FIRST_ALLOCATED_IDENTITY + 1]);
      const b = await LocalIdentityAllocator.open(dir);
      assert.equal(await b.identityFor({ app: "y" }), FIRST_ALLOCATED_IDENTITY + 1);
      assert.deepEqual(b.all().map(([id]) => id).sort(), [x, y]);
    });
    const damaged: Array<[string, string]> = [
      ["empty", ""],
      ["torn", '{"app=x":2'],
      ["bad", '{"app=x":-1}'],
    ];
    for (const [name, text] of damaged) {
      await t.step(`damaged (${name}): reported, the allocator starts empty`, async () => {
        await Deno.writeTextFile(file, text);
        const a = await LocalIdentityAllocator.open(dir);
        assert.deepEqual(a.all(), []);
        const [d] = damagedStateFiles.under(dir);
        assert.equal(d!.path, file);
        assert.match(d!.recovery, /started empty/);
        damagedStateFiles.forget(dir);
        assert.equal(await a.identityFor({ app: "z" }), FIRST_ALLOCATED_IDENTITY);
        assert.deepEqual(JSON.parse(await Deno.readTextFile(file)), { "app=z": 256 });
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
