// Benchmark reporting: every benchmark prints a side-by-side table (baseline vs hypha, with the
// ratio) and writes the same rows as JSON under bench/results/.
import { join } from "node:path";

export interface Row {
  metric: string;
  unit: string;
  baseline: number | null;
  hypha: number;
  /** hypha / baseline, or baseline / hypha when lower is better. */
  ratio: number | null;
  goal?: string;
}

export interface Report {
  benchmark: string;
  baselineName: string;
  date: string;
  host: { kernel: string; cpus: number };
  rows: Row[];
  notes: string[];
}

export function row(
  metric: string,
  unit: string,
  baseline: number | null,
  hypha: number,
  opts: { lowerIsBetter?: boolean; goal?: string } = {},
): Row {
  let ratio: number | null = null;
  if (baseline !== null && baseline !== 0 && hypha !== 0) {
    ratio = opts.lowerIsBetter ? baseline / hypha : hypha / baseline;
  }
  return { metric, unit, baseline, hypha, ratio, ...(opts.goal ? { goal: opts.goal } : {}) };
}

const fmt = (n: number | null) =>
  n === null ? "-" : Math.abs(n) >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(3);

export function printTable(report: Report): void {
  const header = ["metric", "unit", report.baselineName, "hypha", "ratio", "goal"];
  const lines = report.rows.map((r) => [
    r.metric,
    r.unit,
    fmt(r.baseline),
    fmt(r.hypha),
    r.ratio === null ? "-" : `${r.ratio.toFixed(2)}x`,
    r.goal ?? "",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const show = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  console.log(`\n== ${report.benchmark} ==`);
  console.log(show(header));
  for (const l of lines) console.log(show(l));
  for (const n of report.notes) console.log(`note: ${n}`);
}

export async function writeReport(report: Report): Promise<string> {
  const dir = join(import.meta.dirname!, "../results");
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, `${report.benchmark}.json`);
  await Deno.writeTextFile(path, JSON.stringify(report, null, 2) + "\n");
  return path;
}

export function newReport(benchmark: string, baselineName: string): Report {
  return {
    benchmark,
    baselineName,
    date: new Date().toISOString(),
    host: { kernel: Deno.osRelease(), cpus: navigator.hardwareConcurrency },
    rows: [],
    notes: [],
  };
}

/** The median of a sample (the upper one of an even count). */
export function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

export type Bench = () => Report | Report[] | Promise<Report | Report[]>;

/**
 * Runs the benchmarks named in `names` (all of them when none), printing each report and
 * writing its JSON; an unknown name exits with status 2 before anything runs.
 */
export async function runBenches(benches: Record<string, Bench>, names = Deno.args) {
  const unknown = names.filter((a) => !(a in benches));
  if (unknown.length) {
    console.error(
      `Unknown benchmark ${unknown.join(", ")}: use ${Object.keys(benches).join(", ")}`,
    );
    Deno.exit(2);
  }
  for (const name of names.length ? names : Object.keys(benches)) {
    const result = await benches[name]!();
    for (const report of Array.isArray(result) ? result : [result]) {
      printTable(report);
      console.log(`wrote ${await writeReport(report)}`);
    }
  }
}
