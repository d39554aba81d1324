// Make-before-break: while two policies replace each other again and again, a connection
// loop on a port both allow never fails, and one on a port both deny never gets through.
import assert from "node:assert/strict";
import { Lab } from "../lab/lab.ts";
import { rrClient, type RrResult, rrServe } from "../lab/rr.ts";
import { applyPolicy, nodeApi, waitConverged, waitPolicyApplied } from "../lab/converge.ts";
import { snmpCounter } from "../lab/traffic.ts";
import { waitFor } from "../lab/wait.ts";

/** Policy replacements while the loops run, each enforced before the next. */
const CHANGES = 20;

const policy = (extraPort: number) =>
  JSON.stringify({
    apiVersion: "cilium.io/v2",
    kind: "CiliumNetworkPolicy",
    metadata: { name: "server", namespace: "x" },
    spec: {
      endpointSelector: { matchLabels: { app: "server" } },
      ingress: [{
        fromEndpoints: [{ matchLabels: { app: "client" } }],
        toPorts: [{
          ports: [{ port: "80", protocol: "TCP" }, { port: String(extraPort), protocol: "TCP" }],
        }],
      }],
    },
  });

Deno.test("policy churn: never drops what both policies allow, never passes what both deny", async () => {
  await using lab = await Lab.create({ nodes: 2, etcd: 1 });
  await lab.startAgents();
  const client = await lab.addPod("n1", "x/client", { labels: { app: "client" } });
  const server = await lab.addPod("n2", "x/server", { labels: { app: "server" } });
  const servers = await Promise.all([80, 81, 82, 83].map((port) => rrServe(server.ns, { port })));
  const stop = new AbortController();
  const loops: Promise<RrResult>[] = [];
  try {
    await waitConverged(lab);
    await waitPolicyApplied(lab, await applyPolicy(lab, policy(81)));
    // the loops run until the churn is over, however long it takes
    const loop = (port: number) =>
      rrClient(client.ns, {
        host: server.ip,
        port,
        mode: "probe",
        intervalMs: 10,
        durationS: 600,
        timeoutMs: 300,
        stop: stop.signal,
      });
    loops.push(loop(80), loop(83));
    // connections to port 80 arrive before the first change, and after the last
    const accepted = (more: number) => async () => {
      const from = await snmpCounter(server.ns, "Tcp", "PassiveOpens");
      await waitFor(
        `${more} more connections accepted by the server`,
        async () => (await snmpCounter(server.ns, "Tcp", "PassiveOpens")) >= from + more,
      );
    };
    await accepted(20)();
    // each replacement is enforced on the server's node before the next: CHANGES real changes
    for (let i = 0; i < CHANGES; i++) {
      const revision = await applyPolicy(lab, policy(i % 2 ? 81 : 82));
      await waitPolicyApplied(lab, revision, { nodes: ["n2"] });
    }
    await accepted(20)();
  } finally {
    stop.abort();
    await Promise.allSettled(loops); // never leave a loop running
    await Promise.all(servers.map((s) => s.stop()));
  }
  const [allowed, denied] = await Promise.all(loops);
  assert.equal(allowed!.failed, 0, `port 80 failed: ${JSON.stringify(allowed!.firstFailures)}`);
  assert.ok(allowed!.ok >= 40, `port 80: only ${allowed!.ok} probes`);
  assert.equal(denied!.ok, 0, `port 83 got through ${denied!.ok} times`);
  assert.ok(denied!.failed > 0, "port 83 was tried");
  const st = await nodeApi<{ computations: number }>(lab, "n2", "/v1/policies");
  assert.ok(st.computations > CHANGES, `the server's node recomputed ${st.computations} times`);
});
