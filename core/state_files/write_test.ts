import assert from "node:assert/strict";
import { join } from "node:path";
import { readStateFile, recordOf } from "./read.ts";
import { removeStaleTemps } from "./stale_temps.ts";
import {
  removeStateFile,
  setAside,
  tempPathFor,
  writeStateFile,
  writeStateFileSync,
} from "./write.ts";

const counter = recordOf("a number", (v): v is number => typeof v === "number");

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "hypha-state-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function listDir(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

Deno.test("writeStateFile() replaces the file with the mode asked for and leaves no temp file", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "a.json");
    await writeStateFile(path, '{"n":1}');
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600, "default mode");
    await writeStateFile(path, '{"n":2}', { mode: 0o644 });
    assert.equal(await Deno.readTextFile(path), '{"n":2}');
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o644, "umask does not apply");
    writeStateFileSync(path, new TextEncoder().encode('{"n":3}'), { mode: 0o640 });
    assert.equal(await Deno.readTextFile(path), '{"n":3}');
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o640);
    assert.deepEqual(await listDir(dir), ["a.json"]);
  });
});

Deno.test("writeStateFile() applies concurrent writes of one path in call order", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "order.json");
    await Promise.all(Array.from({ length: 20 }, (_, i) => writeStateFile(path, `{"n":${i}}`)));
    assert.equal(await Deno.readTextFile(path), '{"n":19}');
    const removing = removeStateFile(path);
    const rewriting = writeStateFile(path, '{"n":20}');
    await Promise.all([removing, rewriting]);
    assert.equal(await Deno.readTextFile(path), '{"n":20}', "the remove ran before the write");
    await removeStateFile(path);
    await removeStateFile(path); // missing: not an error
    assert.deepEqual(await listDir(dir), []);
  });
});

Deno.test("writeStateFile() fails naming the file and leaves the old content", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "sub", "x.json");
    await assert.rejects(
      writeStateFile(path, "{}"),
      /Cannot write state file ".*sub\/x\.json": .*No such file/,
    );
    const target = join(dir, "t.json");
    await writeStateFile(target, '{"n":1}');
    await Deno.mkdir(join(dir, "t.json.dir"));
    assert.throws(() => writeStateFileSync(join(dir, "t.json.dir"), "{}"), /t\.json\.dir/);
    assert.equal(await Deno.readTextFile(target), '{"n":1}');
    assert.deepEqual(await listDir(dir), ["t.json", "t.json.dir"]);
  });
});

Deno.test("a crash between the steps of a write leaves the old or the new content", async (t) => {
  await withDir(async (dir) => {
    const path = join(dir, "state.json");
    await writeStateFile(path, '{"n":1}');
    const read = async () => await readStateFile(path, counter);

    await t.step("killed while writing the temp file: old content, a partial temp", async () => {
      await Deno.writeTextFile(tempPathFor(path), '{"n":');
      assert.deepEqual(await read(), { kind: "ok", value: { n: 1 } });
    });
    await t.step("killed after the fsync, before the rename: old content", async () => {
      await Deno.writeTextFile(tempPathFor(path), '{"n":2}');
      assert.deepEqual(await read(), { kind: "ok", value: { n: 1 } });
    });
    await t.step("the next start removes the temp files, the target stays", async () => {
      const removed = await removeStaleTemps(dir);
      assert.equal(removed.length, 2);
      assert.deepEqual(await listDir(dir), ["state.json"]);
      assert.deepEqual(await read(), { kind: "ok", value: { n: 1 } });
    });
    await t.step(
      "a torn in-place write (what the old writers risked) reads as damaged",
      async () => {
        await Deno.writeTextFile(path, '{"n":');
        const r = await read();
        assert.equal(r.kind, "damaged");
        await Deno.writeTextFile(path, "");
        assert.deepEqual(await read(), { kind: "damaged", problem: "the file is empty" });
      },
    );
  });
});

Deno.test("kill -9 of a process writing in a loop leaves a whole version every time", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "loop.json");
    const writer = join(dir, "writer.ts");
    const module = new URL("./write.ts", import.meta.url).href;
    // Each version is large enough that a torn write would be visible as truncated JSON.
    await Deno.writeTextFile(
      writer,
      `import { writeStateFile } from ${JSON.stringify(module)};
       const pad = "x".repeat(64 * 1024);
       for (let n = 1; ; n++) {
         await writeStateFile(${JSON.stringify(path)}, JSON.stringify({ n, pad }));
         if (n === 3) console.log("writing");
       }`,
    );
    const versions = new Set<number>();
    for (let round = 0; round < 5; round++) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", writer],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const reader = child.stdout.getReader();
      await reader.read(); // "writing": several writes done, more under way
      child.kill("SIGKILL");
      reader.releaseLock();
      await child.stdout.cancel();
      await child.status;
      const r = await readStateFile(
        path,
        (j) => j as { n: number; pad: string },
      );
      assert.equal(r.kind, "ok", JSON.stringify(r));
      if (r.kind === "ok") {
        assert.equal(r.value.pad.length, 64 * 1024);
        versions.add(r.value.n);
      }
      await removeStaleTemps(dir);
      assert.deepEqual(await listDir(dir), ["loop.json", "writer.ts"]);
    }
    assert.ok(versions.size >= 1);
  });
});

Deno.test("setAside() keeps a damaged file as <name>.damaged, replacing an older one", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "policies.json");
    await Deno.writeTextFile(path, '{"a":');
    assert.equal(await setAside(path), `${path}.damaged`);
    await Deno.writeTextFile(path, '{"b":');
    await setAside(path);
    assert.deepEqual(await listDir(dir), ["policies.json.damaged"]);
    assert.equal(await Deno.readTextFile(`${path}.damaged`), '{"b":');
  });
});
