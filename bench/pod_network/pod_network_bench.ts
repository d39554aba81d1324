// Pod-to-pod throughput (iperf3, 1 and 4 streams) and request/response rate (rr, TCP_RR
// style) on one node and across nodes, hypha vs plain veth + kernel routing in the same lab, in
// native and tunnel (VXLAN) mode. Every measurement alternates baseline and hypha runs (the
// baseline crosses nodes on its own BPF-free link), ROUNDS times, and reports medians: on a
// small machine the noise between runs is larger than the difference being measured.
import { Lab } from "../../tests/lab/lab.ts";
import { iperfClient, iperfServe } from "../../tests/lab/iperf.ts";
import { rrClient, rrServe } from "../../tests/lab/rr.ts";
import { median, newReport, type Report, row } from "../lib/report.ts";
import { baselinePod, baselineUnderlay } from "./baseline_pods.ts";

const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? 3);
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 3);
const PORT = 7100;

interface Endpoint {
  ns: string;
  ip: string;
}
interface Pair {
  from: Endpoint;
  to: Endpoint;
}
type Sample = Record<string, number[]>;
type Measure = (from: Endpoint, to: Endpoint) => Promise<Record<string, number>>;

const iperf = (streams: number): Measure => async (from, to) => {
  const server = await iperfServe(to.ns);
  const r = await iperfClient(from.ns, to.ip, { seconds: SECONDS, streams });
  await server.done;
  if (r.error) throw new Error(`iperf3 ${from.ip} -> ${to.ip}: ${r.error}`);
  return { [`throughput, ${streams} stream${streams > 1 ? "s" : ""}`]: r.bitsPerSecond / 1e9 };
};

const requestResponse: Measure = async (from, to) => {
  await using _s = await rrServe(to.ns, { port: PORT });
  const r = await rrClient(from.ns, { host: to.ip, port: PORT, mode: "rr", durationS: SECONDS });
  return {
    "request/response rate": r.ratePerS,
    "request/response p99 latency": r.latencyUs?.p99 ?? 0,
  };
};

/** Alternates baseline and hypha for each measurement, ROUNDS times (order flips each round). */
async function measure(
  paths: Record<string, { base: Pair; hypha: Pair }>,
): Promise<{ base: Sample; hypha: Sample }> {
  const base: Sample = {};
  const hypha: Sample = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const [path, pair] of Object.entries(paths)) {
      for (const m of [iperf(1), iperf(4), requestResponse]) {
        const order = round % 2 ? ["hypha", "base"] as const : ["base", "hypha"] as const;
        for (const who of order) {
          const { from, to } = pair[who];
          const into = who === "base" ? base : hypha;
          for (const [metric, v] of Object.entries(await m(from, to))) {
            (into[`${path} ${metric}`] ??= []).push(v);
          }
        }
      }
    }
  }
  return { base, hypha };
}

function unit(metric: string): string {
  return metric.includes("throughput")
    ? "Gbit/s"
    : metric.includes("latency")
    ? "µs"
    : "transactions/s";
}

export async function benchPodNetwork(): Promise<Report[]> {
  const reports: Report[] = [];
  const hyphaByMode: Record<string, Sample> = {};
  const variants = [
    { name: "native", routing: "native", hostRouting: "legacy" },
    { name: "native_bpf_host_routing", routing: "native", hostRouting: "bpf" },
    { name: "tunnel", routing: "tunnel", hostRouting: "legacy" },
  ] as const;
  for (const { name, routing, hostRouting } of variants) {
    await using lab = await Lab.create({
      nodes: 2,
      routing,
      nodeConfig: { networking: { hostRouting } },
    });
    await baselineUnderlay(lab);
    const b1 = await baselinePod(lab, "n1", 0, 1);
    const b2 = await baselinePod(lab, "n1", 0, 2);
    const b3 = await baselinePod(lab, "n2", 1, 1);
    await lab.startAgents();
    const h1 = await lab.addPod("n1", "bench/h1");
    const h2 = await lab.addPod("n1", "bench/h2");
    const h3 = await lab.addPod("n2", "bench/h3");
    const { base, hypha } = await measure({
      "same node": { base: { from: b1, to: b2 }, hypha: { from: h1, to: h2 } },
      "cross node": { base: { from: b1, to: b3 }, hypha: { from: h1, to: h3 } },
    });
    const report = newReport(`pod_network_${name}`, "veth + kernel routing");
    for (const metric of Object.keys(hypha)) {
      const lower = metric.includes("latency");
      report.rows.push(row(metric, unit(metric), median(base[metric]!), median(hypha[metric]!), {
        ...(lower ? { lowerIsBetter: true } : {}),
        ...(lower ? {} : { goal: ">= 0.95x" }),
      }));
    }
    report.notes.push(
      `median of ${ROUNDS} alternating runs of ${SECONDS} s each; hypha ${routing} routing, ` +
        `host routing ${hostRouting} (pod MTU ${
          routing === "tunnel" ? "1450, VXLAN" : "1500"
        }); baseline pods: plain veth, /32 host routes, MTU 1500, across nodes on a second ` +
        "underlay link without any BPF",
    );
    reports.push(report);
    hyphaByMode[name] = hypha;
  }
  const vx = newReport("pod_network_tunnel_vs_native", "hypha native");
  for (const metric of Object.keys(hyphaByMode.tunnel!)) {
    const lower = metric.includes("latency");
    vx.rows.push(row(
      metric,
      unit(metric),
      median(hyphaByMode.native![metric]!),
      median(hyphaByMode.tunnel![metric]!),
      lower ? { lowerIsBetter: true } : {},
    ));
  }
  vx.notes.push("hypha column: tunnel (VXLAN) mode; baseline column: hypha native routing");
  reports.push(vx);
  return reports;
}
