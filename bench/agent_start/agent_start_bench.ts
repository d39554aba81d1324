// Agent start-to-ready and unchanged-restart times in a lab node, and the writes an unchanged
// restart performs (goal: 0). Baseline: the bare process start of the same Deno runtime
// (`deno run` of an empty module in the same namespace), so the ratio shows hypha's own cost.
import { Lab } from "../../tests/lab/mod.ts";
import { median, newReport, printTable, type Report, row, writeReport } from "../lib/report.ts";

const RUNS = 5;

export async function benchAgentStart(): Promise<Report> {
  await using lab = await Lab.create({ nodes: 1 });
  const n1 = lab.node("n1");
  const bare: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await lab.exec("n1", [Deno.execPath(), "eval", "0"]);
    bare.push(performance.now() - t0);
  }
  const first: number[] = [];
  const restart: number[] = [];
  let writes = 0;
  for (let i = 0; i < RUNS; i++) {
    await lab.hypha("n1", ["cleanup"]);
    let t0 = performance.now();
    await n1.agent.start();
    first.push(performance.now() - t0);
    await n1.agent.stop();
    t0 = performance.now();
    await n1.agent.start();
    restart.push(performance.now() - t0);
    const s = JSON.parse((await lab.hypha("n1", ["status", "-o", "json"])).stdout);
    writes += s.datapath.mapWrites + s.datapath.linkWrites;
    await n1.agent.stop();
  }
  const report = newReport("agent_start", "bare deno start");
  report.rows.push(
    row("start to ready (fresh node)", "ms", median(bare), median(first), { lowerIsBetter: true }),
    row("unchanged restart to ready", "ms", median(bare), median(restart), { lowerIsBetter: true }),
    row("writes by unchanged restarts (total)", "writes", null, writes, { goal: "0" }),
  );
  report.notes.push(
    `median of ${RUNS} runs; start includes loading bpf_host.o and attaching 2 tcx links`,
  );
  return report;
}

if (import.meta.main) {
  const report = await benchAgentStart();
  printTable(report);
  console.log(`wrote ${await writeReport(report)}`);
}
