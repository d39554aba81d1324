import assert from "node:assert/strict";
import { join } from "node:path";
import { FlowExporter, type FlowExporterOptions } from "./export.ts";
import { compileFilters } from "./filter.ts";
import { makeFlow } from "./_testing.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "hypha-export-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** An exporter at `path` with room (1 MiB, one backup) unless `o` says otherwise. */
const open = (path: string, o: Partial<FlowExporterOptions> = {}) =>
  FlowExporter.open({ path, maxSizeBytes: 1 << 20, maxBackups: 1, ...o });

const lines = async (path: string) =>
  (await Deno.readTextFile(path)).split("\n").filter((l) => l !== "");

Deno.test("FlowExporter appends one hubble-shaped JSON line per flow", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "sub", "flows.json");
    const e = await open(path, { maxBackups: 2 });
    const flow = makeFlow();
    e.add(flow);
    e.add(makeFlow({ verdict: "DROPPED" }));
    assert.equal(e.stats().written, 0, "add() only buffers");
    await e.flush();
    assert.equal(e.stats().written, 2);
    await e.close();
    const got = await lines(path);
    assert.equal(got.length, 2);
    assert.deepEqual(JSON.parse(got[0]!), { flow, node_name: "node1", time: flow.time });
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    // reopening appends
    const again = await open(path, { maxBackups: 2 });
    again.add(flow);
    await again.close();
    assert.equal((await lines(path)).length, 3);
  });
});

Deno.test("FlowExporter rotates by size and keeps maxBackups files", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "flows.json");
    const lineBytes = new TextEncoder().encode(
      JSON.stringify({ flow: makeFlow(), node_name: "node1", time: makeFlow().time }) + "\n",
    ).length;
    // three lines fit in a file
    const e = await FlowExporter.open({ path, maxSizeBytes: lineBytes * 3, maxBackups: 2 });
    for (let i = 0; i < 11; i++) e.add(makeFlow());
    await e.close();
    const names = [...Deno.readDirSync(dir)].map((d) => d.name).sort();
    assert.deepEqual(names, ["flows.json", "flows.json.1", "flows.json.2"]);
    assert.equal((await lines(path)).length, 2, "11 = 3 + 3 + 3 + 2: the newest file has 2");
    assert.equal((await lines(`${path}.1`)).length, 3);
    assert.equal((await lines(`${path}.2`)).length, 3);
    for (const n of names) assert.ok((await Deno.stat(join(dir, n))).size <= lineBytes * 3);
    assert.equal(e.stats().rotations, 3);
    assert.equal(e.stats().written, 11);
  });
});

Deno.test("FlowExporter with maxBackups 0 starts the file over", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "flows.json");
    const e = await FlowExporter.open({ path, maxSizeBytes: 10, maxBackups: 0 });
    for (let i = 0; i < 3; i++) e.add(makeFlow());
    await e.close();
    assert.deepEqual([...Deno.readDirSync(dir)].map((d) => d.name), ["flows.json"]);
    assert.equal((await lines(path)).length, 1, "a line longer than the limit is still written");
  });
});

Deno.test("FlowExporter exports only what its filter lets through", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "drops.json");
    const e = await open(path, { filter: compileFilters({ allow: [{ verdict: ["DROPPED"] }] }) });
    e.add(makeFlow());
    e.add(makeFlow({ verdict: "DROPPED" }));
    await e.close();
    assert.equal((await lines(path)).length, 1);
    assert.equal(e.stats().filtered, 1);
  });
});

Deno.test("FlowExporter counts write errors instead of throwing, and recovers", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "flows.json");
    const errors: string[] = [];
    const e = await FlowExporter.open({
      path,
      maxSizeBytes: 300,
      maxBackups: 1,
      onError: (err) => errors.push(err.message),
    });
    // the directory disappears: rotating and reopening fail
    await Deno.remove(dir, { recursive: true });
    for (let i = 0; i < 3; i++) e.add(makeFlow());
    await e.flush();
    const s = e.stats();
    assert.ok(s.writeErrors >= 1, `write errors counted: ${JSON.stringify(s)}`);
    assert.match(s.lastError!, /flows\.json/);
    assert.ok(errors.length >= 1);
    // the directory comes back: the next flush reopens the file
    await Deno.mkdir(dir);
    e.add(makeFlow());
    await e.close();
    assert.ok((await lines(path)).length >= 1);
  });
});

Deno.test("FlowExporter drops and counts flows beyond its buffer", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "flows.json");
    const e = await open(path, { maxBufferedBytes: 1 });
    e.add(makeFlow());
    e.add(makeFlow());
    e.add(makeFlow());
    assert.equal(e.stats().dropped, 2);
    await e.close();
    assert.equal((await lines(path)).length, 1);
  });
});

Deno.test("FlowExporter flushes on its own every flushIntervalMs", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "flows.json");
    const e = await open(path, { flushIntervalMs: 20 });
    e.add(makeFlow());
    const deadline = Date.now() + 2000;
    while (e.stats().written === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(e.stats().written, 1);
    await e.close();
  });
});
