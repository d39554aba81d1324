// `deno run -A bench/lb/main.ts [service|nodeport|control|maglev]...`: the load-balancing
// benchmarks on their own (all of them without arguments). Sizes: see each file's env vars.
import { printTable, type Report, writeReport } from "../lib/report.ts";
import { benchLbControlPlane } from "./control_plane_bench.ts";
import { run as benchMaglev } from "./maglev_bench.ts";
import { benchLbNodePort } from "./nodeport_bench.ts";
import { benchLbService } from "./service_bench.ts";

const benches: Record<string, () => Promise<Report[]>> = {
  service: benchLbService,
  nodeport: benchLbNodePort,
  control: benchLbControlPlane,
  maglev: benchMaglev,
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
