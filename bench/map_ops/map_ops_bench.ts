// Map operations through hypha's TypeScript bindings vs a C program using libbpf directly, on the
// same object, map and keys: N single updates, N batch updates (chunks of 4096 in both), and a
// full iteration (get_next_key + lookup per entry in both).
import { join } from "node:path";
import { BpfObject } from "../../core/bpf/mod.ts";
import {
  type FixtureKey,
  fixtureKey,
  type FixtureValue,
  fixtureValue,
  keyOf,
  valueOf,
} from "../../core/bpf/testdata/fixture_codecs.ts";
import { newReport, printTable, type Report, row, writeReport } from "../lib/report.ts";

const FIXTURE = join(import.meta.dirname!, "../../bpf/build/testdata/fixture.o");

interface Timings {
  single_update_s: number;
  batch_update_s: number;
  iterate_s: number;
}

async function runC(n: number): Promise<Timings> {
  const dir = await Deno.makeTempDir({ prefix: "hypha-bench-" });
  try {
    const bin = join(dir, "map_ops");
    const src = join(import.meta.dirname!, "map_ops.c");
    const cc = await new Deno.Command("gcc", { args: ["-O2", "-o", bin, src, "-lbpf"] }).output();
    if (!cc.success) throw new Error(`gcc failed: ${new TextDecoder().decode(cc.stderr)}`);
    const out = await new Deno.Command(bin, { args: [FIXTURE, String(n)] }).output();
    if (!out.success) throw new Error(`map_ops failed: ${new TextDecoder().decode(out.stderr)}`);
    return JSON.parse(new TextDecoder().decode(out.stdout));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function runTs(n: number): Timings {
  using obj = BpfObject.open(FIXTURE);
  obj.load();
  using map = obj.map("fixture_hash", fixtureKey, fixtureValue);
  let t0 = performance.now();
  for (let i = 0; i < n; i++) map.update(keyOf(i), valueOf(i));
  const single = (performance.now() - t0) / 1000;
  for (let i = 0; i < n; i++) map.delete(keyOf(i));

  // The desired table already exists in memory (as a reconciler holds it); encoding is timed.
  const entries: Array<[FixtureKey, FixtureValue]> = [];
  for (let i = 0; i < n; i++) entries.push([keyOf(i), valueOf(i)]);
  t0 = performance.now();
  map.updateBatch(entries);
  const batch = (performance.now() - t0) / 1000;

  t0 = performance.now();
  let seen = 0;
  for (const _ of map.entries()) seen++;
  const iterate = (performance.now() - t0) / 1000;
  if (seen !== n) throw new Error(`iteration saw ${seen} of ${n}`);
  return { single_update_s: single, batch_update_s: batch, iterate_s: iterate };
}

export async function benchMapOps(n = 100_000): Promise<Report> {
  runTs(Math.min(n, 10_000)); // warm up the JIT
  const c = await runC(n);
  const ts = runTs(n);
  const report = newReport("map_ops", "C+libbpf");
  const rate = (s: number) => n / s;
  report.rows.push(
    row(`${n} single updates`, "ops/s", rate(c.single_update_s), rate(ts.single_update_s), {
      goal: ">= 0.5x",
    }),
    row(`${n} batch updates`, "ops/s", rate(c.batch_update_s), rate(ts.batch_update_s), {
      goal: ">= 0.8x",
    }),
    row(`iterate ${n} entries`, "entries/s", rate(c.iterate_s), rate(ts.iterate_s)),
  );
  report.notes.push(
    "same object and map (fixture_hash: hash, 8-byte key, 24-byte value)",
    "single updates: both build each key/value inside the timed loop",
    "batch updates: hypha times encoding + syscalls of an in-memory table; C fills structs inline",
  );
  return report;
}

if (import.meta.main) {
  const report = await benchMapOps(Number(Deno.args[0] ?? 100_000));
  printTable(report);
  console.log(`wrote ${await writeReport(report)}`);
}
