// `deno run -A bench/policy/main.ts [compute|datapath|propagation]`: the policy benchmarks.
import { printTable, writeReport } from "../lib/report.ts";
import { benchPolicyCompute, benchPolicyDatapath, benchPolicyPropagation } from "./policy_bench.ts";

const only = Deno.args[0];
const benches = {
  compute: benchPolicyCompute,
  datapath: benchPolicyDatapath,
  propagation: benchPolicyPropagation,
};
for (const [name, bench] of Object.entries(benches)) {
  if (only && only !== name) continue;
  const r = await bench();
  printTable(r);
  console.log(`wrote ${await writeReport(r)}`);
}
