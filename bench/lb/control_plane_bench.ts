// The load balancer's control plane: how long N services (2 backends each) take to reach the
// maps, and what they cost in memory.
//   in process (lb_pipeline.ts): each stage on its own for BENCH_LB_CP_SIZES services; the map
//     write alone beside Cilium's published "50,000 services into the LB maps in ~0.7 s"
//   agent: a lab node with the lb plugin and a local store whose manifest directory holds the
//     services (explicit cluster IPs, selector-less, one EndpointSlice each): cold start (no
//     pinned maps) to programmed (the plugin status' lastApply), the agent's RSS, then at the
//     first size (10,000) one backend change through the admin API (POST /v1/services, one changed
//     EndpointSlice) and through the manifest file, each until the plugin applied it. Beside
//     kube-proxy's iptables-restore of the same services (a full sync) on a baseline node.
// The manifest file is a JSON List (the local store parses .json with JSON.parse; the YAML
// parse of the same documents is shown in process for comparison).
import { ApiClient } from "../../core/api/client.ts";
import { Lab } from "../../tests/lab/lab.ts";
import { median, newReport, type Report, row } from "../lib/report.ts";
import { BASELINE_POD_CIDR, baselineNode, installKubeProxy } from "./baseline_node.ts";
import type { BaselineService } from "./baseline_service.ts";
import { agentRss, serviceDocuments, waitProgrammed, writeServices } from "./hypha_services.ts";
import { controlPlaneServices, type PipelineTimes, pipelineTimes } from "./lb_pipeline.ts";

const env = (name: string, fallback: string) => Deno.env.get(name) ?? fallback;
const list = (name: string, fallback: string) =>
  env(name, fallback).split(",").filter(Boolean).map(Number);
const SIZES = list("BENCH_LB_CP_SIZES", "10000,50000");
const YAML_MAX = Number(env("BENCH_LB_CP_YAML_MAX", "10000"));
const AGENT_SIZES = list("BENCH_LB_CP_AGENT_SIZES", "10000,50000");
const CHANGES = Number(env("BENCH_LB_CP_CHANGES", "2"));
/** Cilium's published time to reconcile 50,000 services into its LB maps (not measured here). */
const CILIUM_50K_MS = 700;
const MIB = 1024 * 1024;

interface AgentRun {
  services: number;
  readyMs: number;
  programmedMs: number;
  writerMs: number;
  rss: number;
  iptablesMs: number;
  iptablesTool: string;
}

interface ChangeRun {
  services: number;
  apiPostMs: number[];
  apiProgrammedMs: number[];
  fileProgrammedMs: number[];
  writerMs: number[];
  writes: number[];
  iptablesMs: number;
}

/** `s` with its second backend moved to `ip`. */
const moved = (s: BaselineService, ip: string): BaselineService => ({
  ...s,
  endpoints: [s.endpoints[0]!, { ip, port: s.endpoints[1]!.port }],
});

/** The backend addresses the plugin serves for `key` (GET /v1/plugins/lb/services/...). */
async function servedBackends(socket: string, key: string): Promise<string[]> {
  using client = new ApiClient({ socket });
  const s = await client.json<{ frontends: Array<{ backends: Array<{ address: string }> }> }>(
    "GET",
    `/v1/plugins/lb/services/${key}`,
  );
  return s.frontends.flatMap((f) => f.backends.map((b) => b.address));
}

async function measureChanges(
  lab: Lab,
  manifests: string,
  services: BaselineService[],
  iptablesMs: number,
): Promise<ChangeRun> {
  const socket = lab.node("n1").socket;
  const n = services.length;
  const out: ChangeRun = {
    services: n,
    apiPostMs: [],
    apiProgrammedMs: [],
    fileProgrammedMs: [],
    writerMs: [],
    writes: [],
    iptablesMs,
  };
  const record = async (key: string, ip: string, t0: number) => {
    const st = await waitProgrammed(socket, n, { since: t0, timeoutMs: 1_800_000 });
    const backends = await servedBackends(socket, key);
    if (!backends.includes(`${ip}:7100`)) {
      throw new Error(`After the change ${key} is served by ${backends}, not ${ip}:7100`);
    }
    const w = (r: { added: number; updated: number; removed: number }) =>
      r.added + r.updated + r.removed;
    const a = st.lastApply;
    out.writerMs.push(a.ms);
    out.writes.push(w(a.frontends) + w(a.slots) + w(a.backends));
    return Date.parse(a.at) - t0;
  };
  // through the admin API: one EndpointSlice of the middle service
  const middle = Math.floor(n / 2);
  for (let i = 0; i < CHANGES; i++) {
    const ip = `10.127.0.${i + 1}`;
    const [, slice] = serviceDocuments([moved(services[middle]!, ip)]);
    using client = new ApiClient({ socket });
    const t0 = Date.now();
    await client.json("POST", "/v1/services", JSON.stringify(slice));
    out.apiPostMs.push(Date.now() - t0);
    out.apiProgrammedMs.push(await record(`default/svc-${middle}`, ip, t0));
  }
  // through the manifest file (another service: the API's object of svc-middle now wins)
  let current = services;
  for (let i = 0; i < CHANGES; i++) {
    const ip = `10.127.1.${i + 1}`;
    const k = middle + 1;
    current = current.map((s, j) => j === k ? moved(s, ip) : s);
    const t0 = await writeServices(manifests, current);
    out.fileProgrammedMs.push(await record(`default/svc-${k}`, ip, t0));
  }
  return out;
}

async function agentRuns(): Promise<
  { idleMs: number; idleRss: number; runs: AgentRun[]; change?: ChangeRun }
> {
  const manifests = await Deno.makeTempDir({ prefix: "hypha-lb-bench-" });
  const runs: AgentRun[] = [];
  let change: ChangeRun | undefined;
  try {
    await using lab = await Lab.create({
      nodes: 1,
      nodeConfig: { plugins: { lb: { enabled: true } }, store: { kind: "local", manifests } },
    });
    const agent = lab.node("n1").agent;
    const socket = lab.node("n1").socket;
    const bcp = await baselineNode(lab, "bcp");
    const t0 = Date.now();
    await lab.startAgents();
    const idle = await waitProgrammed(socket, 0, { since: t0 });
    const idleMs = Date.parse(idle.lastApply.at) - t0;
    const idleRss = await agentRss(socket);
    await agent.stop();
    for (const n of AGENT_SIZES) {
      const services = controlPlaneServices(n);
      const kp = await installKubeProxy(bcp.ns, "iptables", services, {
        clusterCIDR: BASELINE_POD_CIDR,
        timeoutMs: 600_000,
      });
      const iptablesMs = kp.loadMs;
      const middle = Math.floor(n / 2);
      const kpChanged = await installKubeProxy(
        bcp.ns,
        "iptables",
        services.map((s, i) => i === middle ? moved(s, "10.127.0.1") : s),
        { clusterCIDR: BASELINE_POD_CIDR, timeoutMs: 600_000 },
      );
      await kpChanged.remove();
      await lab.hypha("n1", ["cleanup"]); // cold: no pinned maps to adopt
      await writeServices(manifests, services);
      const t0 = Date.now();
      await agent.start({ timeoutMs: 1_800_000 });
      const readyMs = Date.now() - t0;
      const st = await waitProgrammed(socket, n, { since: t0, timeoutMs: 1_800_000 });
      if (st.problems.length) throw new Error(JSON.stringify(st.problems.slice(0, 3)));
      runs.push({
        services: n,
        readyMs,
        programmedMs: Date.parse(st.lastApply.at) - t0,
        writerMs: st.lastApply.ms,
        rss: await agentRss(socket),
        iptablesMs,
        iptablesTool: kp.tool,
      });
      console.log(`lb control plane: agent with ${n} services programmed`);
      if (!change) change = await measureChanges(lab, manifests, services, kpChanged.loadMs);
      await agent.stop();
    }
    return { idleMs, idleRss, runs, ...(change ? { change } : {}) };
  } finally {
    await Deno.remove(manifests, { recursive: true }).catch(() => {});
  }
}

export async function benchLbControlPlane(): Promise<Report[]> {
  const pipeline: PipelineTimes[] = [];
  for (const n of SIZES) {
    pipeline.push(await pipelineTimes(n, YAML_MAX));
    console.log(`lb control plane: ${n} services in process`);
  }
  const agent = AGENT_SIZES.length ? await agentRuns() : undefined;

  const maps = newReport("lb_control_plane_maps", "Cilium (published)");
  for (const p of pipeline) {
    const at = `${p.services} services:`;
    const ms = { lowerIsBetter: true };
    const cilium = p.services === 50_000 ? CILIUM_50K_MS : null;
    maps.rows.push(
      row(`${at} map write, cold (LbWriter.apply)`, "ms", cilium, p.writeMs, {
        ...ms,
        ...(cilium ? { goal: "~Cilium" } : {}),
      }),
      row(`${at} compute frontends`, "ms", null, p.computeMs),
      row(`${at} resolve (validate, claims, allocate)`, "ms", null, p.resolveMs),
      row(`${at} parse manifest file, JSON List`, "ms", null, p.jsonMs),
    );
    if (p.yamlMs !== null) {
      maps.rows.push(row(`${at} parse manifest file, YAML (same documents)`, "ms", null, p.yamlMs));
    }
    maps.rows.push(
      row(`${at} re-apply unchanged (diff, no writes)`, "ms", null, p.unchangedMs),
      row(`${at} one backend change: resolve`, "ms", null, p.changeResolveMs),
      row(`${at} one backend change: compute`, "ms", null, p.changeComputeMs),
      row(`${at} one backend change: write`, "ms", null, p.changeWriteMs),
      row(`${at} one backend change: map writes`, "writes", null, p.changeWrites),
    );
  }
  maps.notes.push(
    "in this process, as the local store and the plugin do it; the map write goes into fresh kernel maps " +
      "of bpf/build/bpf_lb.o in a throwaway bpffs (nothing attached); 2 backends per service, " +
      "N distinct backends; explicit cluster IPs",
    `the YAML parse is measured up to ${YAML_MAX} services (BENCH_LB_CP_YAML_MAX)`,
    "the Cilium figure is its published anchor (Go, other hardware), not measured on this host",
  );
  const reports = [maps];
  if (agent) reports.push(agentReport(agent));
  return reports;
}

function agentReport(a: Awaited<ReturnType<typeof agentRuns>>): Report {
  const r = newReport("lb_control_plane_agent", "kube-proxy iptables-restore");
  const ms = { lowerIsBetter: true };
  r.rows.push(
    row("0 services: cold start to programmed", "ms", null, a.idleMs),
    row("0 services: agent RSS (lb on)", "MiB", null, a.idleRss / MIB),
  );
  for (const x of a.runs) {
    const at = `${x.services} services:`;
    r.rows.push(
      row(`${at} cold start to programmed`, "ms", x.iptablesMs, x.programmedMs, ms),
      row(`${at} cold start to /readyz`, "ms", null, x.readyMs),
      row(`${at} of which the map writer`, "ms", null, x.writerMs),
      row(`${at} agent RSS`, "MiB", null, x.rss / MIB),
      row(`${at} RSS per service`, "KiB", null, (x.rss - a.idleRss) / 1024 / x.services),
    );
  }
  const c = a.change;
  if (c) {
    const at = `one backend change at ${c.services} services:`;
    r.rows.push(
      row(`${at} API apply to programmed`, "ms", c.iptablesMs, median(c.apiProgrammedMs), ms),
      row(`${at} API request (POST /v1/services)`, "ms", null, median(c.apiPostMs)),
      row(`${at} manifest file to programmed`, "ms", c.iptablesMs, median(c.fileProgrammedMs), ms),
      row(`${at} map writer`, "ms", null, median(c.writerMs)),
      row(`${at} map writes`, "writes", null, median(c.writes)),
    );
  }
  r.notes.push(
    "hypha: one lab node, lb plugin, local store with a manifest directory (selector-less " +
      "services with explicit cluster IPs, one EndpointSlice each, 2 backends per service); " +
      "cold start: `hypha cleanup` (no pinned maps), manifests in place, agent start until " +
      "the plugin status' lastApply serves every frontend",
    `baseline: ${a.runs[0]?.iptablesTool ?? "iptables"} of the same services in one restore ` +
      "on a baseline node namespace (kube-proxy's full sync: the whole nat table); for the " +
      "change, the same restore with one endpoint moved",
    c
      ? `changes: median of ${CHANGES}; API: all values ${JSON.stringify(c.apiProgrammedMs)} ` +
        `ms; file: ${JSON.stringify(c.fileProgrammedMs)} ms`
      : "no change measured",
    `anchor: Cilium reconciles 50,000 services into its LB maps in ~${CILIUM_50K_MS} ms ` +
      "(published, not measured here)",
  );
  return r;
}
