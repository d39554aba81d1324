// CNI ADD latency over 200 pods created back to back, as a runtime executes the plugin (process
// start to exit), against Debian's `ptp` plugin with `host-local` IPAM (a plain routed veth
// CNI) executed the same way in the same node; the agent's memory with 200 endpoints; and the
// time from agent start to ready with 200 endpoints, with a connection loop running across the
// restart (goal: 0 failed connections).
import { join } from "node:path";
import { CniTool } from "../../core/cni/cnitool.ts";
import { Lab } from "../../tests/lab/lab.ts";
import { rrClient, rrServe } from "../../tests/lab/rr.ts";
import { newReport, type Report, row } from "../lib/report.ts";

const PODS = Number(Deno.env.get("BENCH_PODS") ?? 200);
const PTP_PATH = "/usr/lib/cni";

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

async function rssMiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

export async function benchCni(): Promise<Report> {
  await using lab = await Lab.create({
    nodes: 1,
    nodeConfig: { node: { podCIDR: "10.244.0.0/23" } }, // room for 200 pods
  });
  await lab.startAgents();
  const agent = lab.node("n1").agent;

  // Baseline: ptp + host-local, same node namespace, same way of executing.
  const ptp = new CniTool({
    plugin: ["ip", "netns", "exec", lab.node("n1").ns, join(PTP_PATH, "ptp")],
    cniPath: PTP_PATH,
  });
  const ptpConf = {
    cniVersion: "1.0.0",
    name: "ptpnet",
    type: "ptp",
    ipMasq: false,
    ipam: { type: "host-local", subnet: "10.251.0.0/16", dataDir: join(lab.dir, "host-local") },
  };
  const ptpTimes: number[] = [];
  for (let i = 0; i < PODS; i++) {
    const { netns } = await lab.pods.createNetns();
    const t0 = performance.now();
    const r = await ptp.add(ptpConf, { containerId: `ptp${i}`, netns, ifname: "eth0" });
    ptpTimes.push(performance.now() - t0);
    if (r.exitCode !== 0) throw new Error(`ptp ADD ${i}: ${r.stdout}`);
  }

  const rss0 = await rssMiB(agent.pid!);
  const hyphaTimes: number[] = [];
  for (let i = 0; i < PODS; i++) {
    const t0 = performance.now();
    await lab.addPod("n1", `bench/p${i}`);
    hyphaTimes.push(performance.now() - t0);
  }
  const rss200 = await rssMiB(agent.pid!);

  // Restart with 200 endpoints, connections running between two of them.
  const a = lab.pods.get("bench/p0");
  const b = lab.pods.get(`bench/p${PODS - 1}`);
  await using _srv = await rrServe(b.ns, { port: 7000 });
  const probe = rrClient(a.ns, {
    host: b.ip,
    port: 7000,
    mode: "probe",
    intervalMs: 10,
    durationS: 6,
  });
  await new Promise((r) => setTimeout(r, 1000));
  const restarts: number[] = [];
  for (let i = 0; i < 2; i++) {
    await agent.stop();
    const t0 = performance.now();
    await agent.start();
    restarts.push(performance.now() - t0);
  }
  const p = await probe;
  const st = JSON.parse((await lab.hypha("n1", ["status", "-o", "json"])).stdout);
  // The same endpoints held by a freshly restarted agent (restored from disk): no ADD churn.
  await new Promise((r) => setTimeout(r, 2000));
  const rssRestored = await rssMiB(agent.pid!);

  // An empty node's start, for comparison.
  await using empty = await Lab.create({ nodes: 1 });
  const t0 = performance.now();
  await empty.startAgents();
  const emptyStart = performance.now() - t0;

  const report = newReport("cni", "ptp + host-local");
  report.rows.push(
    row("CNI ADD p50 (exec to exit)", "ms", pct(ptpTimes, 0.5), pct(hyphaTimes, 0.5), {
      lowerIsBetter: true,
    }),
    row("CNI ADD p99 (exec to exit)", "ms", pct(ptpTimes, 0.99), pct(hyphaTimes, 0.99), {
      lowerIsBetter: true,
    }),
    row("agent RSS, 0 endpoints", "MiB", null, rss0),
    row(`agent RSS, ${PODS} endpoints`, "MiB", null, rss200),
    row(`agent RSS, ${PODS} endpoints, after a restart`, "MiB", null, rssRestored),
    row(
      "agent memory per endpoint (restarted agent vs an empty one)",
      "KiB",
      null,
      ((rssRestored - rss0) * 1024) / PODS,
      { goal: "Cilium ~10.5 KiB/pod" },
    ),
    row(
      `agent start to ready, ${PODS} endpoints (vs empty node)`,
      "ms",
      emptyStart,
      pct(restarts, 0.5),
      { lowerIsBetter: true },
    ),
    row("connections failed across 2 restarts", "connections", null, p.failed, { goal: "0" }),
    row(
      "writes by the restarted agent",
      "writes",
      null,
      st.datapath.mapWrites + st.datapath.linkWrites,
      {
        goal: "0",
      },
    ),
  );
  report.notes.push(
    `${PODS} pods back to back on one node; both plugins run as a runtime runs them (ip netns exec ` +
      "into the node, environment + stdin); hypha's plugin is a Deno process that forwards to the agent " +
      "(its start-up is most of the time), ptp is a Go binary doing the work itself",
    `probe: one connection every 10 ms, ${p.attempts} attempts, ${p.failed} failed`,
    "RSS right after 200 ADDs includes garbage and heap growth from the ADD churn (process " +
      "spawns, requests); the restarted agent holds the same endpoints without it",
  );
  return report;
}
