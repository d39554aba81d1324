// `deno task bench [NAME]...`: every benchmark (or the named ones), baseline and hypha side by
// side; JSON in bench/results/.
import { benchAgentStart } from "./agent_start/agent_start_bench.ts";
import { benchEtcd } from "./etcd/etcd_bench.ts";
import { benchFlowDecode } from "./flows/decode_bench.ts";
import { benchFlowOverhead } from "./flows/overhead_bench.ts";
import { benchFlowPeerTls } from "./flows/peer_tls_bench.ts";
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
import { runBenches } from "./lib/report.ts";

await runBenches({
  "map-ops": () => benchMapOps(100_000),
  "agent-start": benchAgentStart,
  cni: benchCni,
  "pod-network": benchPodNetwork,
  "policy-compute": benchPolicyCompute,
  "policy-datapath": benchPolicyDatapath,
  "policy-propagation": benchPolicyPropagation,
  "lb-maglev": benchLbMaglev,
  "lb-service": benchLbService,
  "lb-nodeport": benchLbNodePort,
  "lb-control": benchLbControlPlane,
  "flows-decode": benchFlowDecode,
  "flows-store": benchFlowStore,
  "flows-overhead": benchFlowOverhead,
  "flows-peer-tls": benchFlowPeerTls,
  etcd: benchEtcd,
});
