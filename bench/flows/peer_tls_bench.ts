// What mutual TLS costs the cluster view: flows per second through a flow peer, plain HTTP vs
// mutual TLS, in one two-node lab over the same stored flows. The flows are real: traffic between
// pods fills n2's agent's store, and its 10,000 most recent flows are taken out through its API.
// A process in n2's namespace serves them with the agent's peer listener code twice (mutual TLS
// with n2's lab certificate, and plain HTTP); a process in n1's namespace asks with the cluster
// view's client code (queryCluster, n1's certificate), plain and TLS alternating first each round,
// ROUNDS rounds, medians. Measured: full answers (10,000 flows, the default maxFlows) as flows/s;
// `--last 20` queries per second on a kept connection, and on a new connection each (handshake
// included).
import { join } from "node:path";
import { ApiClient } from "../../core/api/client.ts";
import type { Flow } from "../../core/flows/flow.ts";
import { nsArgv } from "../../tests/lab/cgroup.ts";
import { Lab } from "../../tests/lab/lab.ts";
import { rrClient, rrServe } from "../../tests/lab/rr.ts";
import { waitFor } from "../../tests/lab/wait.ts";
import { median, newReport, type Report, row } from "../lib/report.ts";

const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 5);
const STORED = 10_000;
const TLS_PORT = 4301;
const PLAIN_PORT = 4302;
const NODE = join(import.meta.dirname!, "peer_node.ts");

export async function benchFlowPeerTls(): Promise<Report> {
  await using lab = await Lab.create({ nodes: 2 });
  // a shared, busy machine can take longer than the lab's default 30 s to start an agent
  await Promise.all([...lab.nodes.values()].map((n) => n.agent.start()));
  const n2 = lab.node("n2");
  const flows = await storedFlows(lab);
  const file = join(lab.dir, "flows.json");
  await Deno.writeTextFile(file, JSON.stringify(flows));

  const tls = (name: string) => {
    const f = lab.tlsFiles(name);
    return [f.ca, f.cert, f.key];
  };
  const [bin, ...args] = nsArgv(n2.ns, [
    Deno.execPath(),
    "run",
    "-A",
    NODE,
    "serve",
    file,
    n2.ip,
    String(TLS_PORT),
    String(PLAIN_PORT),
    ...tls("n2"),
  ]);
  const server = new Deno.Command(bin!, { args, stdout: "piped", stderr: "inherit" }).spawn();
  const lines = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    const first = await lines.read();
    if (!first.value?.includes('"listening"')) throw new Error(`peer_node serve: ${first.value}`);
    const asked = await lab.exec("n1", [
      Deno.execPath(),
      "run",
      "-A",
      NODE,
      "ask",
      n2.ip,
      String(TLS_PORT),
      String(PLAIN_PORT),
      ...tls("n1"),
      String(ROUNDS),
    ], { timeoutMs: 30 * 60_000 });
    const samples = JSON.parse(asked.stdout) as Record<string, number[]>;
    const report = newReport("flows_peer_tls", "plain HTTP");
    const add = (metric: string, unit: string, key: string) =>
      report.rows.push(
        row(metric, unit, median(samples[`plain ${key}`]!), median(samples[`tls ${key}`]!)),
      );
    add(`cluster view of ${STORED.toLocaleString("en-US")} flows (full answer)`, "flows/s", "full");
    add("cluster view, --last 20, connection kept", "queries/s", "small");
    add("cluster view, --last 20, new connection each", "queries/s", "new");
    report.notes.push(
      `hypha: mutual TLS (TLS 1.3, ECDSA P-256 certificates of the lab's CA, the server on ` +
        `node:https with client certificates required, the client Deno's fetch with rustls); ` +
        `baseline: the same peer code over plain HTTP (Deno.serve), as observability.peer` +
        `.insecure serves it. Same lab, same ${flows.length} stored flows (real ones, from ` +
        `pod traffic on n2), server in n2's namespace, client in n1's, across the lab bridge; ` +
        `${ROUNDS} rounds alternating which goes first, medians. Full answers: 5 queries of ` +
        `last=${STORED} per round; --last 20: 100 queries per round on one kept connection, ` +
        `30 with a new client (and connection, and handshake) each. n1 asks only n2 ` +
        `(queryCluster with an empty local list), so the rate is one peer's.`,
    );
    const spread = (key: string) =>
      ["plain", "tls"].map((m) =>
        `${m} ${samples[`${m} ${key}`]!.map((v) => Math.round(v)).join("/")}`
      ).join(", ");
    report.notes.push(
      `Rounds (full: flows/s; small and new: queries/s): full ${spread("full")}; small ` +
        `${spread("small")}; new ${spread("new")}. A full answer is ` +
        `${(JSON.stringify(flows).length / 1e6).toFixed(1)} MB of JSON ` +
        `(${Math.round(JSON.stringify(flows).length / flows.length)} bytes a flow).`,
    );
    return report;
  } finally {
    server.kill("SIGTERM");
    await lines.cancel().catch(() => {});
    await server.status;
  }
}

/** Fills n2's flow store with real flows (pod traffic) and takes its STORED most recent. */
async function storedFlows(lab: Lab): Promise<Flow[]> {
  const a = await lab.addPod("n1", "bench/a");
  const b = await lab.addPod("n2", "bench/b");
  await using _s = await rrServe(b.ns, { port: 7300 });
  using api = new ApiClient({ socket: lab.node("n2").socket });
  const size = async () => (await api.json<{ size: number }>("GET", "/v1/flows/stats")).size;
  while (await size() < STORED) {
    await rrClient(a.ns, { host: b.ip, port: 7300, mode: "crr", count: 2000, durationS: 30 });
  }
  await waitFor("n2's store is full", async () => await size() >= STORED);
  const r = await api.json<{ flows: Flow[] }>("GET", `/v1/flows?last=${STORED}`);
  return r.flows;
}
