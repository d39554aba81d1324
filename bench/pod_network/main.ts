// `deno run -A bench/pod_network/main.ts`: the pod networking benchmarks on their own.
import { printTable, writeReport } from "../lib/report.ts";
import { benchCni } from "./cni_bench.ts";
import { benchPodNetwork } from "./pod_network_bench.ts";

const only = Deno.args[0];
if (!only || only === "cni") {
  const r = await benchCni();
  printTable(r);
  console.log(`wrote ${await writeReport(r)}`);
}
if (!only || only === "traffic") {
  for (const r of await benchPodNetwork()) {
    printTable(r);
    console.log(`wrote ${await writeReport(r)}`);
  }
}
