// Human-readable results: one table row per case, and under a failed case the cells that differ
// (`step 2: x/b -> x/a 80/TCP: expected X, got .`) so a failure reads without the case file.
import type { CaseResult, CellOutcome } from "./runner.ts";

/** Lines listed under one failed case before the rest are summarised. */
const MAX_LINES = 40;

/** `x/b -> x/a 80/TCP: expected X, got .`, prefixed with the step in multi-step cases. */
export function formatCell(c: CellOutcome, steps: number): string {
  const where = steps > 1 ? `step ${c.step}: ` : "";
  const got = c.got === "error" ? `error (${c.detail})` : c.got;
  return `${where}${c.from} -> ${c.to} ${c.probe}: expected ${c.expected}, got ${got}`;
}

/** Skipped cells grouped by step, probe and reason: `skipped 6 cells of 80/SCTP: <reason>`. */
export function formatSkipped(r: CaseResult): string[] {
  const groups = new Map<string, number>();
  for (const c of r.skipped) {
    const key = `${
      r.steps > 1 ? `step ${c.step}: ` : ""
    }skipped ${"\0"} of ${c.probe}: ${c.detail}`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  return [...groups].map(([key, n]) => key.replace("\0", `${n} cell${n === 1 ? "" : "s"}`));
}

/** The lines under a case: its problems, differing cells and skipped cells. */
export function formatDetails(r: CaseResult): string[] {
  const lines = [...r.problems, ...r.mismatches.map((c) => formatCell(c, r.steps))];
  const shown = lines.length > MAX_LINES
    ? [...lines.slice(0, MAX_LINES), `... and ${lines.length - MAX_LINES} more`]
    : lines;
  const observed = r.observed.flatMap((o) => [
    `observed ${o.probe}${r.steps > 1 ? ` (step ${o.step})` : ""}:`,
    ...o.matrix.split("\n").map((line) => `  ${line}`),
  ]);
  return [...shown, ...observed, ...formatSkipped(r)];
}

/** One progress line for a finished case. */
export function formatLine(r: CaseResult): string {
  return `${label(r)} ${r.name} (${seconds(r.durationMs)})`;
}

/** The table of every case, details under failures, and an `N passed, N failed` closing line. */
export function formatReport(results: readonly CaseResult[]): string {
  const header = ["CASE", "RESULT", "CELLS", "SKIPPED", "TIME"];
  const rows = results.map((r) => [
    r.name,
    label(r),
    String(r.probed),
    String(r.skipped.length),
    seconds(r.durationMs),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  const out = [line(header)];
  results.forEach((r, i) => {
    out.push(line(rows[i]!));
    for (const detail of formatDetails(r)) out.push(`    ${detail}`);
  });
  const passed = results.filter((r) => r.status === "pass").length;
  out.push("", `${passed} passed, ${results.length - passed} failed`);
  return out.join("\n");
}

function label(r: CaseResult): string {
  return r.status === "pass" ? "pass" : r.status === "fail" ? "FAIL" : "ERROR";
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
