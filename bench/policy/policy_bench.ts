// Policy benchmarks.
// - Computation (pure): 1,000 identities x 500 policies (1,000 rules: label and namespace
//   selectors, CIDRs with excepts, entities, ports, ranges, named ports, deny rules) for 100
//   local endpoints: full computation, the recomputation after one new pod's identity, memory,
//   and policy map entries per endpoint against a flat (identity, port) map without wildcards
//   or port prefixes.
// - Datapath cost: request/response rate between two pods with 100 rules selecting the server
//   vs no policy, alternating runs in one lab.
// - Propagation: from `policy apply` to enforced on every node of a 3-node lab, 50 applies.
import { ApiClient } from "../../core/api/client.ts";
import { affectedBy, computeEndpointPolicy, type PolicyInputs } from "../../core/policy/compute.ts";
import { FIRST_LOCAL_IDENTITY, policyCidrs } from "../../core/policy/identities.ts";
import { Lab } from "../../tests/lab/lab.ts";
import { rrClient, rrServe } from "../../tests/lab/rr.ts";
import { newReport, type Report, row } from "../lib/report.ts";
import { identities, identity, policies } from "./fixtures.ts";

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

function inputsFor(ids: number, pols: number): PolicyInputs {
  const ps = policies(pols);
  const cidrs = [...policyCidrs(ps.flatMap((p) => p.rules.flatMap((r) => r.peers)), new Map())];
  return {
    policies: ps,
    identities: [
      ...identities(ids),
      ...cidrs.map((cidr, i) => ({
        id: FIRST_LOCAL_IDENTITY + i,
        labels: { [`cidr:${cidr}`]: "" },
        cidr,
      })),
    ],
    cidrGroups: new Map(),
    namedPorts: () => [{ http: { port: 8080, protocol: "TCP" } }],
    enforcement: "default",
    audit: false,
    peerCache: new WeakMap(),
  };
}

function computeAll(inputs: PolicyInputs, endpoints: number) {
  const out = [];
  for (let i = 0; i < endpoints; i++) {
    const id = identity(i);
    out.push(computeEndpointPolicy({ identity: id.id, labels: id.labels, namedPorts: {} }, inputs));
  }
  return out;
}

/** Entries a flat map keyed by (identity, protocol, port) would need for the same policy. */
function flatEntries(p: ReturnType<typeof computeEndpointPolicy>, identityCount: number): number {
  let n = 0;
  for (const d of [p.ingress, p.egress]) {
    for (const e of d.entries) {
      const ports = e.protocol === 0 ? 65536 * 3 : 2 ** (16 - e.bits);
      n += (e.identity === 0 ? identityCount : 1) * ports;
    }
  }
  return n;
}

export function benchPolicyCompute(): Report {
  const IDS = 1000, POLICIES = 500, ENDPOINTS = 100;
  computeAll(inputsFor(IDS, POLICIES), 5); // warm up the JIT
  const heap0 = Deno.memoryUsage().heapUsed;
  let t = performance.now();
  const inputs = inputsFor(IDS, POLICIES);
  const full = computeAll(inputs, ENDPOINTS);
  const fullMs = performance.now() - t;
  const heap1 = Deno.memoryUsage().heapUsed;
  // One new pod with a new identity: the agent recomputes only the endpoints whose policies
  // name a peer the new identity matches (affectedBy), against the full recomputation.
  const next = inputsFor(IDS + 1, POLICIES);
  const added = [identity(IDS).id];
  t = performance.now();
  let recomputed = 0;
  for (let i = 0; i < ENDPOINTS; i++) {
    const id = identity(i);
    if (!affectedBy({ labels: id.labels }, added, next)) continue;
    computeEndpointPolicy({ identity: id.id, labels: id.labels, namedPorts: {} }, next);
    recomputed++;
  }
  const incrementalMs = performance.now() - t;
  const selected = full.filter((p) => p.selectedBy.length > 0);
  const entries = selected.map((p) => p.ingress.entries.length + p.egress.entries.length);
  const flat = selected.map((p) => flatEntries(p, IDS));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const allowAll = computeEndpointPolicy(
    { identity: identity(0).id, labels: identity(0).labels, namedPorts: {} },
    {
      ...inputs,
      policies: [{
        ref: { kind: "NetworkPolicy", namespace: "ns0", name: "all", spec: 0 },
        subject: { requirements: [] },
        isolates: { ingress: true, egress: false },
        rules: [{
          ref: {
            kind: "NetworkPolicy",
            namespace: "ns0",
            name: "all",
            spec: 0,
            section: "ingress",
            index: 0,
          },
          direction: "ingress",
          action: "allow",
          peers: [{ kind: "any" }],
          l4: [],
          requires: [],
        }],
        audit: false,
      }],
    },
  );
  const report = newReport("policy_compute", "flat map / full compute");
  report.rows.push(
    row(`full computation, ${ENDPOINTS} endpoints`, "ms", null, fullMs),
    row("per endpoint", "ms", null, fullMs / ENDPOINTS),
    row(
      `one new pod: incremental update (${recomputed} endpoints recomputed)`,
      "ms",
      fullMs,
      incrementalMs,
      {
        lowerIsBetter: true,
      },
    ),
    row("computed policy memory, all endpoints", "KiB", null, (heap1 - heap0) / 1024),
    row(
      `policy map entries per selected endpoint (mean of ${selected.length})`,
      "entries",
      mean(flat),
      mean(entries),
      {
        lowerIsBetter: true,
      },
    ),
    row(
      "policy map entries per endpoint (max)",
      "entries",
      Math.max(...flat),
      Math.max(...entries),
      {
        lowerIsBetter: true,
      },
    ),
    row(
      "allow-all policy, entries (any number of identities)",
      "entries",
      IDS,
      allowAll.ingress.entries.length,
      {
        lowerIsBetter: true,
        goal: "1",
      },
    ),
  );
  report.notes.push(
    `${IDS} identities, ${POLICIES} policies (${
      POLICIES * 2
    } rules), ${ENDPOINTS} local endpoints; ` +
      "flat map: one entry per (identity, protocol, port) for the same verdicts; baseline of " +
      "the incremental row: recomputing every endpoint",
  );
  return report;
}

export async function benchPolicyDatapath(): Promise<Report> {
  await using lab = await Lab.create({ nodes: 2, etcd: 1 });
  await lab.startAgents();
  const client = await lab.addPod("n1", "bench/client", { labels: { app: "client" } });
  const server = await lab.addPod("n2", "bench/server", { labels: { app: "server" } });
  await using _s = await rrServe(server.ns, { port: 7000 });
  using api = new ApiClient({ socket: lab.node("n1").socket });
  const docs = Array.from({ length: 100 }, (_, i) =>
    JSON.stringify({
      apiVersion: "cilium.io/v2",
      kind: "CiliumNetworkPolicy",
      metadata: { name: `r${i}`, namespace: "bench" },
      spec: {
        endpointSelector: { matchLabels: { app: "server" } },
        ingress: [{
          fromEndpoints: [{ matchLabels: { app: i === 99 ? "client" : `other${i}` } }],
          toPorts: [{ ports: [{ port: String(i === 99 ? 7000 : 8000 + i), protocol: "TCP" }] }],
        }],
      },
    }));
  const rate = async () =>
    (await rrClient(client.ns, { host: server.ip, port: 7000, mode: "rr", durationS: 3 })).ratePerS;
  const none: number[] = [], hundred: number[] = [];
  for (let round = 0; round < 3; round++) {
    none.push(await rate());
    for (const d of docs) await api.json("POST", "/v1/policies", d);
    await new Promise((r) => setTimeout(r, 1500));
    hundred.push(await rate());
    await api.json("POST", "/v1/policies/delete", docs.join("\n---\n"));
    await new Promise((r) => setTimeout(r, 1500));
  }
  const report = newReport("policy_datapath", "no policy");
  report.rows.push(
    row(
      "request/response rate, 100 rules select the server",
      "transactions/s",
      pct(none, 0.5),
      pct(hundred, 0.5),
      {
        goal: ">= 0.97x",
      },
    ),
  );
  report.notes.push("median of 3 alternating runs of 3 s; pods on two nodes (tunnel mode)");
  return report;
}

export async function benchPolicyPropagation(): Promise<Report> {
  await using lab = await Lab.create({ nodes: 3, etcd: 1 });
  await lab.startAgents();
  await lab.addPod("n1", "bench/a", { labels: { app: "a" } });
  await lab.addPod("n2", "bench/b", { labels: { app: "b" } });
  await lab.addPod("n3", "bench/c", { labels: { app: "c" } });
  const clients = [...lab.nodes.values()].map((n) => new ApiClient({ socket: n.socket }));
  const times: number[] = [];
  try {
    for (let i = 0; i < 50; i++) {
      const doc = JSON.stringify({
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "p", namespace: "bench" },
        spec: {
          podSelector: { matchLabels: { app: "b" } },
          ingress: [{
            from: [{ podSelector: { matchLabels: { app: "a" } } }],
            ports: [{ port: 1000 + i }],
          }],
        },
      });
      const t0 = performance.now();
      const r = await clients[0]!.json<{ revision: number }>("POST", "/v1/policies", doc);
      for (;;) {
        const views = await Promise.all(
          clients.map((c) => c.json<{ revision: number; pending: boolean }>("GET", "/v1/policies")),
        );
        if (views.every((v) => v.revision >= r.revision && !v.pending)) break;
        await new Promise((res) => setTimeout(res, 2));
      }
      times.push(performance.now() - t0);
    }
  } finally {
    for (const c of clients) c[Symbol.dispose]();
  }
  const report = newReport("policy_propagation", "-");
  report.rows.push(
    row("apply to enforced on 3 nodes, p50", "ms", null, pct(times, 0.5)),
    row("apply to enforced on 3 nodes, p99", "ms", null, pct(times, 0.99)),
  );
  report.notes.push(
    "50 applies of a changed NetworkPolicy through node 1's API; enforced = every node reports " +
      "the policy's etcd revision computed and written (polled every 2 ms)",
  );
  return report;
}
