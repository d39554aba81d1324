import assert from "node:assert/strict";
import { join } from "node:path";
import { tempBpffs } from "../bpf/_testing.ts";
import { damagedStateFiles } from "../state_files/mod.ts";
import { instanceId } from "./instance_id.ts";

Deno.test("instanceId() is created once and kept; a damaged file comes back from the pinned copy", async (t) => {
  const root = await Deno.makeTempDir({ prefix: "hypha-instance-" });
  await using bpffs = await tempBpffs();
  const stateDir = join(root, "state");
  const pinDir = join(bpffs.path, "hypha", "n1");
  await Deno.mkdir(stateDir);
  const file = join(stateDir, "instance");
  try {
    const first = await instanceId(stateDir, pinDir);
    await t.step("created, with its pinned copy", async () => {
      assert.match(first, /^[0-9a-f-]{36}$/);
      assert.equal((await Deno.readTextFile(file)).trim(), first);
      assert.ok((await Deno.stat(join(pinDir, `instance_${first}`))).isDirectory);
      assert.equal(await instanceId(stateDir, pinDir), first);
    });
    const damaged: Array<[string, string]> = [["empty", ""], ["torn", first.slice(0, 10)], [
      "NULs",
      "\0\0",
    ]];
    for (const [name, text] of damaged) {
      await t.step(`damaged (${name}): restored from the pinned copy and reported`, async () => {
        await Deno.writeTextFile(file, text);
        assert.equal(await instanceId(stateDir, pinDir), first);
        assert.equal((await Deno.readTextFile(file)).trim(), first);
        const [d] = damagedStateFiles.under(stateDir);
        assert.equal(d!.path, file);
        assert.match(d!.recovery, /restored from the pinned copy/);
        damagedStateFiles.forget(stateDir);
      });
    }
    await t.step("damaged and no pinned copy (a reboot): a new id, reported", async () => {
      await Deno.remove(pinDir, { recursive: true });
      await Deno.writeTextFile(file, "");
      const next = await instanceId(stateDir, pinDir);
      assert.notEqual(next, first);
      assert.match(damagedStateFiles.under(stateDir)[0]!.recovery, /a new instance id/);
      assert.equal(await instanceId(stateDir, pinDir), next);
      damagedStateFiles.forget(stateDir);
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
