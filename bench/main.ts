// `deno task bench`: every benchmark, baseline and hypha side by side; JSON in bench/results/.
import { benchAgentStart } from "./agent_start/agent_start_bench.ts";
import { benchFlowDecode } from "./flows/decode_bench.ts";
import { benchFlowOverhead } from "./flows/overhead_bench.ts";
import { benchFlowStore } from "./flows/store_bench.ts";
import { benchLbControlPlane } from "./lb/control_plane_bench.ts";
import { run as benchLbMaglev } from "./lb/maglev_bench.ts";
import { benchLbNodePort } from "./lb/nodeport_bench.ts";
import { benchLbService } from "./lb/service_bench.ts";
import { benchMapOps } from "./map_ops/map_ops_bench.ts";
import { benchCni } from "./pod_network/cni_bench.ts";
import { benchPodNetwork } from "./pod_network/pod_network_bench.ts";
import {
  benchPolicyCompute,
  benchPolicyDatapath,
  benchPolicyPropagation,
} from "./policy/policy_bench.ts";
import { printTable, writeReport } from "./lib/report.ts";

const benches = [
  () => benchMapOps(100_000),
  benchAgentStart,
  benchCni,
  benchPodNetwork,
  benchPolicyCompute,
  benchPolicyDatapath,
  benchPolicyPropagation,
  benchLbMaglev,
  benchLbService,
  benchLbNodePort,
  benchLbControlPlane,
  benchFlowDecode,
  benchFlowStore,
  benchFlowOverhead,
];
for (const bench of benches) {
  const result = await bench();
  for (const report of Array.isArray(result) ? result : [result]) {
    printTable(report);
    console.log(`wrote ${await writeReport(report)}`);
  }
}
