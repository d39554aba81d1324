// `deno run -A bench/flows/main.ts [decode|store|overhead|peer-tls]...`: the flow observability
// benchmarks on their own (all of them without arguments).
import { runBenches } from "../lib/report.ts";
import { benchFlowDecode } from "./decode_bench.ts";
import { benchFlowOverhead } from "./overhead_bench.ts";
import { benchFlowPeerTls } from "./peer_tls_bench.ts";
import { benchFlowStore } from "./store_bench.ts";

await runBenches({
  decode: benchFlowDecode,
  store: benchFlowStore,
  overhead: benchFlowOverhead,
  "peer-tls": benchFlowPeerTls,
});
