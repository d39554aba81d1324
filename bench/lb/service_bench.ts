// The service data path: connections per second (rr crr: connect, 1-byte request and response,
// close with RST) and request/response latency (rr rr: one connection) from a client pod to a
// ClusterIP service with 1, 1,000 and 10,000 services installed, 2 backends each, the backends
// on the client's node. Side by side:
//   hypha      a lab node with the lb plugin (socket LB: connect() goes to the backend)
//   iptables   kube-proxy's iptables design (iptables-legacy when installed) on a BPF-free
//              baseline node with BPF-free pods; probed at the service in the middle of
//              KUBE-SERVICES and at the one evaluated last
//   nftables   kube-proxy's nftables design on a second baseline node (one verdict-map lookup)
// The baseline nodes are namespaces of their own, so hypha's programs and kube-proxy's rules
// never see each other's packets. Every service count has its own lab (hypha: the services in
// the local store's manifest directory) with its own baseline nodes, all installed at once, so
// each of the ROUNDS rounds measures every count and design in turn; medians are reported.
import { Lab } from "../../tests/lab/lab.ts";
import {
  rrClient,
  rrName,
  type RrResult,
  rrServe,
  type RrServer,
  rrWhoami,
} from "../../tests/lab/rr.ts";
import { median, newReport, type Report, row } from "../lib/report.ts";
import type { BaselinePod } from "../pod_network/baseline_pods.ts";
import {
  BASELINE_POD_CIDR,
  baselineNode,
  baselineNodePod,
  baselineServices,
  installKubeProxy,
} from "./baseline_node.ts";
import type { BaselineService } from "./baseline_service.ts";
import { waitProgrammed, writeServices } from "./hypha_services.ts";

const env = (name: string, fallback: string) => Deno.env.get(name) ?? fallback;
const SECONDS = Number(env("BENCH_SECONDS", "3"));
const ROUNDS = Number(env("BENCH_ROUNDS", "3"));
const COUNTS = env("BENCH_LB_SERVICES", "1,1000,10000").split(",").map(Number);
const PORT = 7100;

type Design = "hypha" | "iptables (middle)" | "iptables (last)" | "nftables";
const DESIGNS: Design[] = ["hypha", "iptables (middle)", "iptables (last)", "nftables"];
const METRICS = ["crr rate", "crr p50", "crr p99", "rr p50", "rr p99"] as const;
type Metric = typeof METRICS[number];
/** design -> count -> metric -> samples */
type Samples = Map<Design, Map<number, Record<Metric, number[]>>>;

interface Client {
  ns: string;
  backends: string[];
}

/** One crr and one rr run to `s` from `ns`; failures are counted, not fatal. */
async function measure(ns: string, s: BaselineService, failures: string[], what: string) {
  const opts = { host: s.clusterIP, port: s.port, durationS: SECONDS, timeoutMs: 1000 };
  const crr = await rrClient(ns, { ...opts, mode: "crr" });
  const rr = await rrClient(ns, { ...opts, mode: "rr" });
  for (const r of [crr, rr] as RrResult[]) {
    if (r.failed || !r.latencyUs) {
      failures.push(`${what} ${r.mode}: ${r.failed} failed ${JSON.stringify(r.firstFailures[0])}`);
    }
  }
  return {
    "crr rate": crr.ratePerS,
    "crr p50": crr.latencyUs?.p50 ?? 0,
    "crr p99": crr.latencyUs?.p99 ?? 0,
    "rr p50": rr.latencyUs?.p50 ?? 0,
    "rr p99": rr.latencyUs?.p99 ?? 0,
  } satisfies Record<Metric, number>;
}

/** Both backends answer `s` from `ns` (a broken install must not be measured as fast). */
async function checkBalanced(ns: string, s: BaselineService, want: string[], what: string) {
  const seen = new Set<string>();
  for (let i = 0; i < 30 && seen.size < want.length; i++) {
    seen.add(await rrName(ns, s.clusterIP, s.port, { timeoutMs: 2_000 }));
  }
  if ([...seen].sort().join() !== [...want].sort().join()) {
    throw new Error(`${what}: ${s.clusterIP}:${s.port} answered by ${[...seen]}, want ${want}`);
  }
}

async function backendsOn(pods: Array<{ ns: string; ip: string }>, prefix: string) {
  const servers: RrServer[] = [];
  for (const [i, p] of pods.entries()) {
    servers.push(await rrServe(p.ns, { port: PORT, name: `${prefix}-${i + 1}` }));
  }
  return servers;
}

/** One service count: its lab (one hypha node) and baseline nodes, everything installed. */
interface Setup {
  count: number;
  clients: Record<Design, Client>;
  probe: Record<Design, BaselineService>;
}

/**
 * A lab for `count` services: a hypha node (client and 2 backend pods, the services in its
 * manifest directory) and one baseline node per kube-proxy design (client and 2 backend pods,
 * the same services loaded). Returns what to probe; cleanup goes on `stack`.
 */
async function setUp(
  count: number,
  stack: AsyncDisposableStack,
  servers: RrServer[],
  notes: string[],
): Promise<Setup> {
  const manifests = await Deno.makeTempDir({ prefix: "hypha-lb-bench-" });
  stack.defer(() => Deno.remove(manifests, { recursive: true }).catch(() => {}));
  const lab = stack.use(
    await Lab.create({
      nodes: 1,
      routing: "native",
      nodeConfig: { plugins: { lb: { enabled: true } }, store: { kind: "local", manifests } },
    }),
  );
  const ipt = await baselineNode(lab, "bipt");
  const nft = await baselineNode(lab, "bnft");
  const basePods = async (node: typeof ipt, subnet: number): Promise<BaselinePod[]> => [
    await baselineNodePod(lab, node, subnet, 1),
    await baselineNodePod(lab, node, subnet, 2),
    await baselineNodePod(lab, node, subnet, 3),
  ];
  const [iptClient, ...iptBackends] = await basePods(ipt, 1);
  const [nftClient, ...nftBackends] = await basePods(nft, 2);
  await lab.startAgents();
  const hClient = await lab.addPod("n1", "bench/client");
  const hBackends = [await lab.addPod("n1", "bench/be1"), await lab.addPod("n1", "bench/be2")];
  servers.push(
    ...await backendsOn(hBackends, "hypha"),
    ...await backendsOn(iptBackends, "iptables"),
    ...await backendsOn(nftBackends, "nftables"),
  );
  const backendsOf = (pods: Array<{ ip: string }>) => pods.map((p) => ({ ip: p.ip, port: PORT }));
  const services = {
    hypha: baselineServices(count, backendsOf(hBackends)),
    iptables: baselineServices(count, backendsOf(iptBackends)),
    nftables: baselineServices(count, backendsOf(nftBackends)),
  };
  const t0 = performance.now();
  const since = await writeServices(manifests, services.hypha);
  const socket = lab.node("n1").socket;
  const programmed = await waitProgrammed(socket, count, { since, timeoutMs: 1_800_000 });
  const hyphaMs = performance.now() - t0;
  if (programmed.problems.length) {
    throw new Error(`hypha problems: ${JSON.stringify(programmed.problems.slice(0, 3))}`);
  }
  const opts = { clusterCIDR: BASELINE_POD_CIDR, timeoutMs: 1_800_000 };
  const kpIpt = await installKubeProxy(ipt.ns, "iptables", services.iptables, opts);
  stack.defer(() => kpIpt.remove().catch(() => {}));
  const kpNft = await installKubeProxy(nft.ns, "nftables", services.nftables, opts);
  stack.defer(() => kpNft.remove().catch(() => {}));
  notes.push(
    `${count} services installed: hypha ${Math.round(hyphaMs)} ms (manifest file written ` +
      `to frontends programmed; writer ${Math.round(programmed.lastApply.ms)} ms), ` +
      `${kpIpt.tool} ${Math.round(kpIpt.loadMs)} ms, ${kpNft.tool} ${Math.round(kpNft.loadMs)} ms`,
  );
  const middle = Math.floor(count / 2);
  const setup: Setup = {
    count,
    clients: {
      "hypha": { ns: hClient.ns, backends: ["hypha-1", "hypha-2"] },
      "iptables (middle)": { ns: iptClient!.ns, backends: ["iptables-1", "iptables-2"] },
      "iptables (last)": { ns: iptClient!.ns, backends: ["iptables-1", "iptables-2"] },
      "nftables": { ns: nftClient!.ns, backends: ["nftables-1", "nftables-2"] },
    },
    probe: {
      "hypha": services.hypha[middle]!,
      "iptables (middle)": services.iptables[middle]!,
      "iptables (last)": services.iptables[count - 1]!,
      "nftables": services.nftables[middle]!,
    },
  };
  for (const d of DESIGNS) {
    const { ns, backends } = setup.clients[d];
    await checkBalanced(ns, setup.probe[d], backends, `${d} at ${count}`);
  }
  // socket LB: the socket itself talks to the backend, which sees the pod's own address
  const seen = await rrWhoami(hClient.ns, setup.probe.hypha.clusterIP, setup.probe.hypha.port);
  if (seen.address !== hClient.ip) {
    notes.push(`${count} services: hypha's backend saw ${seen.address}, not the client pod`);
  }
  console.log(`lb service bench: ${count} services installed`);
  return setup;
}

export async function benchLbService(): Promise<Report[]> {
  const servers: RrServer[] = [];
  const notes: string[] = [];
  const failures: string[] = [];
  const samples: Samples = new Map(DESIGNS.map((d) => [d, new Map()]));
  {
    // disposed in reverse: servers, then per count the rules, the lab, the manifest directory
    await using stack = new AsyncDisposableStack();
    const setups: Setup[] = [];
    try {
      for (const count of COUNTS) setups.push(await setUp(count, stack, servers, notes));
    } finally {
      stack.defer(async () => {
        await Promise.all(servers.map((s) => s.stop()));
      });
    }
    for (const { count, clients, probe } of setups) {
      for (const d of DESIGNS) {
        // warm-up: the first connections fill caches and the conntrack table
        const { clusterIP: host, port } = probe[d];
        await rrClient(clients[d].ns, { host, port, mode: "crr", durationS: 0.5 });
      }
      for (const d of DESIGNS) {
        samples.get(d)!.set(count, Object.fromEntries(METRICS.map((k) => [k, []])) as never);
      }
    }
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 ? [...DESIGNS].reverse() : DESIGNS;
      for (const { count, clients, probe } of setups) {
        for (const d of order) {
          const m = await measure(clients[d].ns, probe[d], failures, `${d} at ${count}`);
          for (const k of METRICS) samples.get(d)!.get(count)![k].push(m[k]);
        }
      }
      console.log(`lb service bench: round ${round + 1} of ${ROUNDS} done`);
    }
  }
  notes.push(
    "every service count has its own lab and baseline nodes, all installed at once; each " +
      "round measures every count and design in turn, so slow phases of the machine hit all alike",
  );
  return reports(samples, notes, failures);
}

function reports(samples: Samples, installNotes: string[], failures: string[]): Report[] {
  const med = (d: Design, count: number, m: Metric) => median(samples.get(d)!.get(count)![m]);
  const unit = (m: Metric) => m === "crr rate" ? "connections/s" : "µs";
  const common = [
    `median of ${ROUNDS} alternating rounds of ${SECONDS} s per mode; 1 client stream; crr: ` +
    "connect, 1-byte request and response, close with RST; crr p50/p99: connect to response; " +
    "rr: 1-byte ping-pong on one connection",
    "hypha: client pod and 2 backend pods on one lab node (lb plugin, socket LB, native " +
    "routing); baselines: BPF-free veth pods on their own node namespaces",
    ...installNotes,
    ...failures.map((f) => `FAILURES: ${f}`),
  ];
  const vs = (name: string, baseline: Design, extra: Design | undefined, goal: string) => {
    const r = newReport(name, baseline);
    for (const count of COUNTS) {
      for (const m of METRICS) {
        const lower = m !== "crr rate";
        const isGoal = m === "crr rate" && count === 10_000;
        r.rows.push(
          row(`${count} services: ${m}`, unit(m), med(baseline, count, m), med("hypha", count, m), {
            ...(lower ? { lowerIsBetter: true } : {}),
            ...(isGoal ? { goal } : {}),
          }),
        );
        if (extra && m === "crr rate") {
          r.rows.push(
            row(
              `${count} services: crr rate vs ${extra}`,
              unit(m),
              med(extra, count, m),
              med("hypha", count, m),
            ),
          );
        }
      }
    }
    r.notes.push(...common);
    return r;
  };
  const ipt = vs("lb_service_iptables", "iptables (middle)", "iptables (last)", ">= 1.3x");
  const nft = vs("lb_service_nftables", "nftables", undefined, ">= 1.1x");
  const scale = newReport("lb_service_scaling", "hypha, 1 service");
  const first = COUNTS[0]!;
  for (const count of COUNTS.slice(1)) {
    for (const m of METRICS) {
      const lower = m !== "crr rate";
      scale.rows.push(
        row(
          `hypha ${count} vs ${first} services: ${m}`,
          unit(m),
          med("hypha", first, m),
          med("hypha", count, m),
          {
            ...(lower ? { lowerIsBetter: true } : {}),
            ...(m === "crr rate" && count === 10_000 ? { goal: ">= 0.95x" } : {}),
          },
        ),
      );
    }
  }
  const last = COUNTS.at(-1)!;
  for (const d of DESIGNS.slice(1)) {
    const [a, b] = [med(d, first, "crr rate"), med(d, last, "crr rate")];
    scale.notes.push(
      `for contrast, ${d}: ${Math.round(b)} connections/s at ${last} services vs ` +
        `${Math.round(a)} at ${first} (${(b / a).toFixed(2)}x)`,
    );
  }
  scale.notes.push(...common);
  return [ipt, nft, scale];
}
