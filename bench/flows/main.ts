// `deno run -A bench/flows/main.ts [decode|store|overhead]...`: the flow observability
// benchmarks on their own (all of them without arguments).
import { printTable, type Report, writeReport } from "../lib/report.ts";
import { benchFlowDecode } from "./decode_bench.ts";
import { benchFlowOverhead } from "./overhead_bench.ts";
import { benchFlowStore } from "./store_bench.ts";

const benches: Record<string, () => Promise<Report[]>> = {
  decode: async () => [await benchFlowDecode()],
  store: async () => [await benchFlowStore()],
  overhead: benchFlowOverhead,
};
const unknown = Deno.args.filter((a) => !(a in benches));
if (unknown.length) {
  console.error(`Unknown benchmark ${unknown.join(", ")}: use ${Object.keys(benches).join(", ")}`);
  Deno.exit(2);
}
for (const name of Deno.args.length ? Deno.args : Object.keys(benches)) {
  for (const report of await benches[name]!()) {
    printTable(report);
    console.log(`wrote ${await writeReport(report)}`);
  }
}
