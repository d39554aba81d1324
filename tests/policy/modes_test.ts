// Enforcement modes and audit: per-policy audit (annotation), node-wide audit, `always`
// (default deny without any policy) and `never`, each checked with real connections and the
// datapath's audit counters.
import assert from "node:assert/strict";
import YAML from "yaml";
import { Lab } from "../lab/lab.ts";
import { rrClient, rrServe } from "../lab/rr.ts";
import { applyPolicy, waitConverged, waitPolicyApplied } from "../lab/converge.ts";

const DENY_ALL = (audit: boolean) =>
  `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-all
  namespace: x
  annotations: {policy.hypha.dev/audit: "${audit}"}
spec: {podSelector: {}, policyTypes: [Ingress]}
`;

Deno.test("policy modes: audit reports without enforcing; always and never", async (t) => {
  await using lab = await Lab.create({ nodes: 2, etcd: 1 });
  await lab.startAgents();
  const client = await lab.addPod("n1", "x/client");
  const server = await lab.addPod("n2", "x/server");
  await using _s = await rrServe(server.ns, { port: 80 });
  await waitConverged(lab);
  const reach = async () =>
    (await rrClient(client.ns, {
      host: server.ip,
      port: 80,
      mode: "probe",
      count: 3,
      intervalMs: 50,
      timeoutMs: 400,
    })).ok === 3;
  const audits = async () => {
    const rows = JSON.parse((await lab.hypha("n2", ["counters", "-o", "json"])).stdout)
      .counters as Array<{ dropsByReason: Record<string, number> }>;
    return rows.reduce((n, r) => n + (r.dropsByReason.POLICY_AUDIT ?? 0), 0);
  };
  // the store revision of the last change: every node, also a restarted one, must enforce it
  let revision = 0;
  const apply = async (text: string, del = false) => {
    revision = await applyPolicy(lab, text, { del });
    await waitPolicyApplied(lab, revision);
  };
  const restartWith = async (policy: Record<string, unknown>) => {
    for (const n of lab.nodes.values()) {
      const cfg = YAML.parse(await Deno.readTextFile(n.configFile));
      await Deno.writeTextFile(n.configFile, YAML.stringify({ ...cfg, policy }));
      await n.agent.stop();
      await n.agent.start();
    }
    await waitConverged(lab);
    await waitPolicyApplied(lab, revision);
  };

  await t.step("a policy in audit mode lets traffic through and counts it", async () => {
    await apply(DENY_ALL(true));
    const before = await audits();
    assert.equal(await reach(), true);
    assert.ok((await audits()) >= before + 3, "the would-be drops are counted");
    await apply(DENY_ALL(false));
    assert.equal(await reach(), false, "the same policy enforced denies");
  });

  await t.step("node-wide audit mode overrides enforcement", async () => {
    await restartWith({ audit: true });
    const before = await audits();
    assert.equal(await reach(), true);
    assert.ok((await audits()) > before);
  });

  await t.step("enforcement never: policies are ignored", async () => {
    await restartWith({ enforcement: "never" });
    assert.equal(await reach(), true);
  });

  await t.step("enforcement always: default deny without a policy selecting the pod", async () => {
    await apply(DENY_ALL(false), true);
    await restartWith({ enforcement: "always" });
    assert.equal(await reach(), false);
    await apply(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow, namespace: x}
spec: {podSelector: {}, ingress: [{}], egress: [{}]}
`);
    assert.equal(await reach(), true);
  });
});
