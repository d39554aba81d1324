// Pod-to-pod throughput (iperf3, 1 and 4 streams) and request/response rate (rr, TCP_RR
// style) on one node and across nodes, hypha vs plain veth + kernel routing in the same lab, in
// native and tunnel (VXLAN) mode. Rounds alternate baseline and hypha (agents stopped and their
// datapath removed for the baseline rounds) and report medians.
import { Lab } from "../../tests/lab/lab.ts";
import { iperfClient, iperfServe } from "../../tests/lab/iperf.ts";
import { rrClient, rrServe } from "../../tests/lab/rr.ts";
import { newReport, type Report, row } from "../lib/report.ts";
import { baselinePod, baselineRoutes } from "./baseline_pods.ts";

const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? 5);
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 3);
const PORT = 7100;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Pair {
  from: { ns: string; ip: string };
  to: { ns: string; ip: string };
}

type Sample = Record<string, number[]>;

async function measure(pairs: Record<string, Pair>, into: Sample): Promise<void> {
  for (const [path, { from, to }] of Object.entries(pairs)) {
    for (const streams of [1, 4]) {
      const server = await iperfServe(to.ns);
      const r = await iperfClient(from.ns, to.ip, { seconds: SECONDS, streams });
      await server.done;
      if (r.error) throw new Error(`iperf3 ${path}: ${r.error}`);
      (into[`${path} throughput, ${streams} stream${streams > 1 ? "s" : ""}`] ??= []).push(
        r.bitsPerSecond / 1e9,
      );
    }
    await using _s = await rrServe(to.ns, { port: PORT });
    const rr = await rrClient(from.ns, { host: to.ip, port: PORT, mode: "rr", durationS: SECONDS });
    (into[`${path} request/response rate`] ??= []).push(rr.ratePerS);
    (into[`${path} request/response p99 latency`] ??= []).push(rr.latencyUs?.p99 ?? 0);
  }
}

async function stopAndClean(lab: Lab): Promise<void> {
  for (const n of lab.nodes.values()) {
    await n.agent.stop();
    await lab.hypha(n.name, ["cleanup"]);
  }
}

export async function benchPodNetwork(): Promise<Report[]> {
  const reports: Report[] = [];
  const hyphaByMode: Record<string, Sample> = {};
  for (const routing of ["native", "tunnel"] as const) {
    await using lab = await Lab.create({ nodes: 2, routing });
    const b1 = await baselinePod(lab, "n1", 0, 1);
    const b2 = await baselinePod(lab, "n1", 0, 2);
    const b3 = await baselinePod(lab, "n2", 1, 1);
    await baselineRoutes(lab);
    await lab.startAgents();
    const h1 = await lab.addPod("n1", "bench/h1");
    const h2 = await lab.addPod("n1", "bench/h2");
    const h3 = await lab.addPod("n2", "bench/h3");
    const base: Sample = {};
    const hypha: Sample = {};
    for (let round = 0; round < ROUNDS; round++) {
      await measure(
        { "same node": { from: h1, to: h2 }, "cross node": { from: h1, to: h3 } },
        hypha,
      );
      await stopAndClean(lab); // no BPF anywhere for the baseline
      await measure(
        { "same node": { from: b1, to: b2 }, "cross node": { from: b1, to: b3 } },
        base,
      );
      await lab.startAgents(); // restores the hypha pods
    }
    const report = newReport(`pod_network_${routing}`, "veth + kernel routing");
    for (const metric of Object.keys(hypha)) {
      const lower = metric.includes("latency");
      report.rows.push(row(
        metric,
        metric.includes("throughput") ? "Gbit/s" : lower ? "µs" : "transactions/s",
        median(base[metric]!),
        median(hypha[metric]!),
        {
          ...(lower ? { lowerIsBetter: true } : {}),
          goal: lower ? "" : ">= 0.95x",
        },
      ));
    }
    report.notes.push(
      `median of ${ROUNDS} rounds of ${SECONDS} s each; hypha ${routing} routing (pod MTU ${
        routing === "tunnel" ? "1450, VXLAN" : "1500"
      }); baseline pods: plain veth, /32 host routes, MTU 1500, no BPF (hypha's programs ` +
        "detached for the baseline rounds)",
    );
    reports.push(report);
    hyphaByMode[routing] = hypha;
  }
  const vx = newReport("pod_network_tunnel_vs_native", "hypha native");
  for (const metric of Object.keys(hyphaByMode.tunnel!)) {
    const lower = metric.includes("latency");
    vx.rows.push(row(
      metric,
      metric.includes("throughput") ? "Gbit/s" : lower ? "µs" : "transactions/s",
      median(hyphaByMode.native![metric]!),
      median(hyphaByMode.tunnel![metric]!),
      lower ? { lowerIsBetter: true } : {},
    ));
  }
  vx.notes.push("hypha column: tunnel (VXLAN) mode; baseline column: hypha native routing");
  reports.push(vx);
  return reports;
}
