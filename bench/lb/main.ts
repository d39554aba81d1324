// `deno run -A bench/lb/main.ts [service|nodeport|control|maglev]...`: the load-balancing
// benchmarks on their own (all of them without arguments). Sizes: see each file's env vars.
import { runBenches } from "../lib/report.ts";
import { benchLbControlPlane } from "./control_plane_bench.ts";
import { run as benchMaglev } from "./maglev_bench.ts";
import { benchLbNodePort } from "./nodeport_bench.ts";
import { benchLbService } from "./service_bench.ts";

await runBenches({
  service: benchLbService,
  nodeport: benchLbNodePort,
  control: benchLbControlPlane,
  maglev: benchMaglev,
});
