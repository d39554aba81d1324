// NodePort from outside: connections per second (rr crr from the lab's external namespace to a
// node's address and node port; connect, 1-byte request and response, close with RST) and the
// connect-to-response latency, with the service's one backend on the node that was addressed
// and on the other node. Side by side:
//   hypha tc    lab A, 2 nodes, native routing, lb plugin balancing per packet at the uplink (tc)
//   hypha XDP   lab B, the same with plugins.lb.xdp "generic" (XDP on the uplink)
//   iptables    kube-proxy's NodePort rules (KUBE-SERVICES -> addrtype LOCAL -> KUBE-NODEPORTS ->
//               KUBE-EXT: masquerade, DNAT) on a BPF-free baseline node in lab A, reachable from
//               lab A's external namespace on its own underlay address, with a second baseline
//               node for the other-node backend
// Both labs stay up, so the three alternate ROUNDS times; medians are reported.
//
// A remote backend's connections are SNATed to the node (hypha: bpf/lib/nat.h, ports from
// networking.natPort{Min,Max}; iptables: the kernel's masquerade). Each closes with a RST, so its
// translation may give its port to the next connection at once (as the kernel's conntrack lets
// a SYN reopen a closed tuple); the sustained rows run long enough (BENCH_NODEPORT_SUSTAINED_S)
// for more connections than the NAT range has ports, so a design that held closed translations
// for their closing lifetime would run out of ports and fail connections there.
import { join } from "node:path";
import { ApiClient } from "../../core/api/client.ts";
import { Lab } from "../../tests/lab/lab.ts";
import { rrClient, rrName, rrServe, type RrServer } from "../../tests/lab/rr.ts";
import { median, newReport, type Report, row } from "../lib/report.ts";
import {
  BASELINE_POD_CIDR,
  baselineNode,
  baselineNodePod,
  installKubeProxy,
  type KubeProxyInstall,
  routeBaselinePods,
} from "./baseline_node.ts";
import type { BaselineService } from "./baseline_service.ts";
import { lbStatus, waitProgrammed, writeServices } from "./hypha_services.ts";

const env = (name: string, fallback: string) => Deno.env.get(name) ?? fallback;
const SECONDS = Number(env("BENCH_SECONDS", "3"));
const ROUNDS = Number(env("BENCH_ROUNDS", "3"));
const SUSTAINED_S = Number(env("BENCH_NODEPORT_SUSTAINED_S", "12"));
const PORT = 7100;
const NODE_PORTS = { same: 30001, other: 30002 } as const;
const push = <K>(m: Map<K, number[]>, k: K, v: number) => m.set(k, [...(m.get(k) ?? []), v]);

type Where = keyof typeof NODE_PORTS;
/** A kind of run: the backend it reaches and for how long. */
type Run = "same" | "other" | "sustained";
const RUNS: Run[] = ["same", "other", "sustained"];
const RUN_BACKEND: Record<Run, Where> = { same: "same", other: "other", sustained: "other" };
const RUN_SECONDS: Record<Run, number> = {
  same: SECONDS,
  other: SECONDS,
  sustained: SUSTAINED_S,
};
type Design = "iptables" | "hypha tc" | "hypha XDP";
const DESIGNS: Design[] = ["iptables", "hypha tc", "hypha XDP"];
const METRICS = ["crr rate", "crr p50", "crr p99", "failed connections"] as const;
type Metric = typeof METRICS[number];

/** Where a design is reached from: the external namespace, the node address. */
interface Target {
  ext: string;
  node: string;
  /** A lab node's API socket (hypha): per-interface counters. */
  socket?: string;
}

/** Two services, one backend each: `same` on the entry node, `other` on the second node. */
function nodePortServices(same: string, other: string): BaselineService[] {
  const svc = (name: string, n: number, ip: string, where: Where): BaselineService => ({
    name,
    namespace: "default",
    clusterIP: `10.96.0.${n}`,
    port: 80,
    protocol: "TCP",
    endpoints: [{ ip, port: PORT }],
    nodePort: NODE_PORTS[where],
  });
  return [svc("np-same", 10, same, "same"), svc("np-other", 11, other, "other")];
}

/** A 2-node hypha lab with the backends and the NodePort services programmed. */
async function hyphaLab(xdp: "off" | "generic", servers: RrServer[]) {
  const lab = await Lab.create({
    nodes: 2,
    routing: "native",
    nodeConfig: { plugins: { lb: { enabled: true, xdp } } },
  });
  try {
    // a machine busy with other labs starts agents slowly: wait longer than tests do
    await Promise.all(
      ["n1", "n2"].map((n) => lab.node(n).agent.start()),
    );
    const same = await lab.addPod("n1", "bench/same");
    const other = await lab.addPod("n2", "bench/other");
    servers.push(await rrServe(same.ns, { port: PORT, name: "same" }));
    servers.push(await rrServe(other.ns, { port: PORT, name: "other" }));
    const since = await writeServices(
      join(lab.dir, "manifests"),
      nodePortServices(same.ip, other.ip),
    );
    const socket = lab.node("n1").socket;
    const status = await waitProgrammed(socket, (s) => s.frontends >= 4, { since });
    if (status.problems.length) throw new Error(JSON.stringify(status.problems));
    return lab;
  } catch (err) {
    await lab.destroy();
    throw err;
  }
}

/** Packets n1's tc ingress counted on eth0 (core's bpf_host counters). */
async function eth0Ingress(socket: string): Promise<number> {
  using client = new ApiClient({ socket });
  const { counters } = await client.json<
    { counters: Array<{ ifname: string; direction: string; packets: number }> }
  >("GET", "/v1/counters");
  return counters.find((c) => c.ifname === "eth0" && c.direction === "ingress")?.packets ?? 0;
}

export async function benchLbNodePort(): Promise<Report[]> {
  const servers: RrServer[] = [];
  const failures: string[] = [];
  const notes: string[] = [];
  /** "<design>|<run>|<metric>" -> samples */
  const samples = new Map<string, number[]>();
  /** "<hypha design>, <where>": packets per connection n1's tc ingress counted on eth0 */
  const tcPackets = new Map<string, number[]>();
  let kp: KubeProxyInstall | undefined;
  let labB: Lab | undefined;
  try {
    await using labA = await hyphaLab("off", servers);
    labB = await hyphaLab("generic", servers);
    const xdp = (await lbStatus(labB.node("n1").socket)).attach?.xdp ?? [];
    if (!xdp.some((x) => x.startsWith("eth0: "))) {
      throw new Error(`The XDP lab's n1 attached no XDP program: ${JSON.stringify(xdp)}`);
    }
    // the baseline: two BPF-free nodes on lab A's underlay, each with a backend pod
    const bn1 = await baselineNode(labA, "bnp1", { address: `${labA.subnet}.41` });
    const bn2 = await baselineNode(labA, "bnp2", { address: `${labA.subnet}.42` });
    const p1 = await baselineNodePod(labA, bn1, 11, 1);
    const p2 = await baselineNodePod(labA, bn2, 12, 1);
    await routeBaselinePods(bn1, bn2, 12);
    await routeBaselinePods(bn2, bn1, 11);
    servers.push(await rrServe(p1.ns, { port: PORT, name: "same" }));
    servers.push(await rrServe(p2.ns, { port: PORT, name: "other" }));
    kp = await installKubeProxy(bn1.ns, "iptables", nodePortServices(p1.ip, p2.ip), {
      clusterCIDR: BASELINE_POD_CIDR,
    });
    notes.push(`baseline: ${kp.tool}`);

    const targets: Record<Design, Target> = {
      "iptables": { ext: labA.external.ns, node: bn1.ip! },
      "hypha tc": {
        ext: labA.external.ns,
        node: labA.node("n1").ip,
        socket: labA.node("n1").socket,
      },
      "hypha XDP": {
        ext: labB.external.ns,
        node: labB.node("n1").ip,
        socket: labB.node("n1").socket,
      },
    };
    for (const d of DESIGNS) {
      const t = targets[d];
      for (const where of ["same", "other"] as const) {
        const name = await rrName(t.ext, t.node, NODE_PORTS[where], { timeoutMs: 2_000 });
        if (name !== where) throw new Error(`${d} ${where}: answered by "${name}"`);
        await rrClient(t.ext, {
          mode: "crr",
          count: 100,
          durationS: 60,
          host: t.node,
          port: NODE_PORTS[where],
        });
      }
    }
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 ? [...DESIGNS].reverse() : DESIGNS;
      for (const run of RUNS) {
        const where = RUN_BACKEND[run];
        for (const d of order) {
          const t = targets[d];
          const before = t.socket ? await eth0Ingress(t.socket) : 0;
          const r = await rrClient(t.ext, {
            mode: "crr",
            durationS: RUN_SECONDS[run],
            host: t.node,
            port: NODE_PORTS[where],
          });
          if (t.socket && run !== "sustained") {
            const per = (await eth0Ingress(t.socket) - before) / Math.max(1, r.ok);
            push(tcPackets, `${d}, ${where}-node`, per);
          }
          if (r.failed || !r.latencyUs) {
            failures.push(
              `${d} ${run} round ${round + 1}: ${r.ok} ok, ${r.failed} failed ${
                JSON.stringify(r.firstFailures[0])
              }`,
            );
          }
          push(samples, `${d}|${run}|crr rate`, r.ratePerS);
          push(samples, `${d}|${run}|crr p50`, r.latencyUs?.p50 ?? 0);
          push(samples, `${d}|${run}|crr p99`, r.latencyUs?.p99 ?? 0);
          push(samples, `${d}|${run}|failed connections`, r.failed);
        }
      }
    }
  } finally {
    await kp?.remove().catch(() => {});
    await Promise.all(servers.map((s) => s.stop()));
    await labB?.destroy();
  }
  for (const [k, v] of tcPackets) {
    notes.push(
      `${k} backend: ${median(v).toFixed(1)} packets per connection reach n1's tc ingress`,
    );
  }
  return reports(samples, notes, failures);
}

function reports(samples: Map<string, number[]>, extra: string[], failures: string[]): Report[] {
  const med = (d: Design, run: Run, m: Metric) => median(samples.get(`${d}|${run}|${m}`)!);
  const total = (d: Design, run: Run) =>
    samples.get(`${d}|${run}|failed connections`)!.reduce((a, b) => a + b, 0);
  const label: Record<Run, string> = {
    same: "backend on the same node",
    other: "backend on the other node",
    sustained: `backend on the other node, sustained ${SUSTAINED_S} s`,
  };
  const common = [
    `median of ${ROUNDS} alternating rounds; each run: ${SECONDS} s of connections (sustained: ` +
    `${SUSTAINED_S} s); 1 client stream from the lab's external namespace to the node's ` +
    "address and node port; crr: connect, 1-byte request and response, close with RST; " +
    "p50/p99: connect to response; failed connections: median per run (a connection that " +
    "gets no answer within 1 s)",
    `failed connections over all rounds: ${
      DESIGNS.map((d) => RUNS.map((run) => `${d} ${run} ${total(d, run)}`).join(", ")).join("; ")
    }`,
    "hypha: native routing, SNAT mode (a remote backend sees the node); iptables: kube-proxy " +
    "rules (externalTrafficPolicy Cluster: every NodePort connection masqueraded)",
    ...extra,
    ...failures.map((f) => `FAILURES: ${f}`),
  ];
  const make = (name: string, baseline: Design, hypha: Design) => {
    const r = newReport(name, baseline);
    for (const run of RUNS) {
      for (const m of METRICS) {
        const lower = m !== "crr rate";
        const unit = m === "crr rate" ? "connections/s" : m === "failed connections" ? "" : "µs";
        r.rows.push(
          row(`${label[run]}: ${m}`, unit, med(baseline, run, m), med(hypha, run, m), {
            ...(lower ? { lowerIsBetter: true } : {}),
          }),
        );
      }
    }
    r.notes.push(...common);
    return r;
  };
  return [
    make("lb_nodeport_tc", "iptables", "hypha tc"),
    make("lb_nodeport_xdp", "iptables", "hypha XDP"),
    make("lb_nodeport_xdp_vs_tc", "hypha tc", "hypha XDP"),
  ];
}
