// The manifest directory as a source of records: Node, Pod and Namespace manifests get the
// checks of their etcd counterparts; a bad one is reported with its file, document and field,
// never reaches a table, and a bad edit of a good one keeps the row that worked.
import assert from "node:assert/strict";
import { join } from "node:path";
import { stringify } from "yaml";
import { createLogger } from "../log.ts";
import { createState, type RecordIssue } from "../state/mod.ts";
import { LocalStore } from "./local_store.ts";

const nodeDoc = (name: string, spec: Record<string, unknown>, address: unknown = "10.1.0.12") => ({
  apiVersion: "v1",
  kind: "Node",
  metadata: { name },
  spec,
  status: { addresses: [{ type: "Hostname", address: name }, { type: "InternalIP", address }] },
});

function yaml(docs: unknown[]): string {
  return docs.map((d) => stringify(d)).join("---\n");
}

function has(issues: RecordIssue[] | undefined, path: string, message: RegExp): void {
  assert.ok(
    issues?.some((i) => i.path === path && message.test(i.message)),
    `no issue at ${path} matching ${message}: ${JSON.stringify(issues)}`,
  );
}

Deno.test("LocalStore checks Node, Pod and Namespace manifests like cluster store records", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hypha-manifests-" });
  const stateDir = await Deno.makeTempDir({ prefix: "hypha-local-" });
  const state = createState();
  const store = new LocalStore({
    state,
    stateDir,
    manifests: dir,
    node: "n1",
    cluster: "test",
    log: createLogger("n1", "error", () => {}),
    pools: { v4: "10.244.0.0/16", v6: "" },
  });
  const write = (docs: unknown[]) => Deno.writeTextFile(join(dir, "cluster.yaml"), yaml(docs));
  const good = [
    nodeDoc("n1", { podCIDR: "10.244.0.0/24" }, "10.1.0.11"),
    nodeDoc("n2", { podCIDR: "10.244.2.0/24" }),
    { apiVersion: "v1", kind: "Pod", metadata: { name: "web", labels: { app: "web" } } },
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop", labels: { team: "a" } } },
  ];
  try {
    await write([
      ...good,
      nodeDoc("all", { podCIDR: "0.0.0.0/0" }, "10.1.0.20"),
      nodeDoc("nl", { podCIDRs: ["10.244.5.0/24\nroute del default"] }, "10.1.0.21"),
      nodeDoc("out", { podCIDR: "10.99.0.0/24" }, "10.1.0.22"),
      nodeDoc("over", { podCIDR: "10.244.2.128/25" }, "10.1.0.23"),
      nodeDoc("addr", { podCIDR: "10.244.6.0/24" }, "10.244.2.7"),
      nodeDoc("types", { podCIDRs: "10.244.7.0/24" }, "10.1.0.24"),
      { apiVersion: "v1", kind: "Pod", metadata: { name: "bad", labels: { "a b": "x" } } },
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "ports" },
        spec: { containers: [null, { ports: [{ name: "http", containerPort: 99999 }] }] },
      },
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "Bad_NS" } },
      {
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "np", namespace: "default" },
        spec: { podSelector: {}, ingress: "all" },
      },
    ]);
    await store.register(
      { name: "n1", cluster: "test", addresses: ["10.1.0.11"], instance: "i" },
      [{ family: 4, pool: "10.244.0.0/16", maskSize: 24 }],
    );
    await store.start();
    assert.deepEqual(state.nodes.list().map((n) => n.name).sort(), ["n1", "n2"]);
    assert.deepEqual(state.nodes.get("n1")?.podCIDRs, ["10.244.0.0/24"], "its own manifest");
    assert.deepEqual(state.pods.list().map((p) => p.name), ["web"]);
    assert.deepEqual(state.namespaces.list().map((n) => n.name), ["shop"]);
    const issues = (key: string) => state.rejected.get(key)?.issues;
    has(issues("Node/all"), "spec.podCIDR", /not a node CIDR inside the pod pool/);
    has(issues("Node/all"), "spec.podCIDR", /overlaps this node's own pod CIDR/);
    has(issues("Node/nl"), "spec.podCIDRs[0]", /^Invalid CIDR "10\.244\.5\.0\/24\\nroute/);
    has(issues("Node/out"), "spec.podCIDR", /not a node CIDR inside the pod pool/);
    has(issues("Node/over"), "spec.podCIDR", /overlaps "10\.244\.2\.0\/24" of node "n2"/);
    has(issues("Node/addr"), "status.addresses[1].address", /inside the pod pool/);
    has(issues("Node/types"), "spec.podCIDRs", /^Must be a list, got the string/);
    has(issues("Pod/default/bad"), 'metadata.labels["a b"]', /Invalid label key "a b"/);
    has(issues("Namespace/Bad_NS"), "metadata.name", /must be a lower-case DNS label/);
    has(issues("Policy/NetworkPolicy/default/np"), "spec.ingress", /Must be a list/);
    assert.equal(state.policies.size, 0);
    has(issues("Pod/default/ports"), "spec.containers.http.port", /^Must be 1-65535 \(a port\)/);
    assert.equal(state.rejected.get("Node/all")?.source, "cluster.yaml document 5");

    // A bad edit of a good Node keeps its row; removing the bad documents clears the reports.
    const n2 = JSON.stringify(state.nodes.get("n2"));
    await write([...good.slice(0, 1), nodeDoc("n2", { podCIDR: "0.0.0.0/0" }), ...good.slice(2)]);
    await pollUntil(() => state.rejected.get("Node/n2") !== undefined);
    assert.equal(JSON.stringify(state.nodes.get("n2")), n2);
    assert.equal(state.rejected.get("Node/n2")?.keeping, true);
    assert.equal(state.rejected.get("Node/all"), undefined, "the removed document's report went");
    await write(good);
    await pollUntil(() => state.rejected.size === 0);
    assert.equal(JSON.stringify(state.nodes.get("n2")), n2);
  } finally {
    await store.stop();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(stateDir, { recursive: true });
  }
});

async function pollUntil(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("Timed out waiting for the manifest reload");
    await new Promise((r) => setTimeout(r, 20));
  }
}
