// `deno task bench`: every benchmark, baseline and hypha side by side; JSON in bench/results/.
import { benchAgentStart } from "./agent_start/agent_start_bench.ts";
import { benchMapOps } from "./map_ops/map_ops_bench.ts";
import { printTable, writeReport } from "./lib/report.ts";

for (const bench of [() => benchMapOps(100_000), benchAgentStart]) {
  const report = await bench();
  printTable(report);
  console.log(`wrote ${await writeReport(report)}`);
}
