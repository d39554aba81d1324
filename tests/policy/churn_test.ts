// Make-before-break: while two policies replace each other again and again, a connection
// loop on a port both allow never fails, and one on a port both deny never gets through.
import assert from "node:assert/strict";
import { ApiClient } from "../../core/api/client.ts";
import { Lab } from "../lab/lab.ts";
import { rrClient, rrServe } from "../lab/rr.ts";

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
  try {
    using api = new ApiClient({ socket: lab.node("n1").socket });
    await api.json("POST", "/v1/policies", policy(81));
    await new Promise((r) => setTimeout(r, 1000));
    const loop = (port: number) =>
      rrClient(client.ns, {
        host: server.ip,
        port,
        mode: "probe",
        intervalMs: 10,
        durationS: 8,
        timeoutMs: 300,
      });
    const [both, neither] = [loop(80), loop(83)];
    let applies = 0;
    const deadline = Date.now() + 7000;
    while (Date.now() < deadline) {
      await api.json("POST", "/v1/policies", policy(applies % 2 ? 81 : 82));
      applies++;
      await new Promise((r) => setTimeout(r, 100));
    }
    const [allowed, denied] = await Promise.all([both, neither]);
    assert.ok(applies > 20, `only ${applies} policy updates`);
    assert.equal(allowed.failed, 0, `port 80 failed: ${JSON.stringify(allowed.firstFailures)}`);
    assert.ok(allowed.ok > 300, `port 80: only ${allowed.ok} probes`);
    assert.equal(denied.ok, 0, `port 83 got through ${denied.ok} times`);
    const st = JSON.parse((await lab.hypha("n2", ["policy", "get", "-o", "json"])).stdout);
    assert.ok(st.computations > 10, `the server's node recomputed ${st.computations} times`);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
});
