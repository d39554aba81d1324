// Every class of bad record in the cluster store, fed through the record reconciler as the
// watch would deliver it: each is rejected with its field path and reason, never reaches a
// table, and leaves the rows that worked as they were; fixing or deleting it clears the report.
import assert from "node:assert/strict";
import { createLogger } from "../log.ts";
import { createState, type RecordIssue, type State } from "../state/mod.ts";
import { parseCidr } from "../ipam/cidr.ts";
import { EtcdKeys } from "./etcd_keys.ts";
import { clusterKinds } from "./etcd_kinds.ts";
import { labelsDigest } from "./records/checks.ts";
import { type RecordChange, RecordReconciler } from "./records/reconciler.ts";
import { Rejections } from "./records/rejections.ts";

const keys = new EtcdKeys("/hypha", "c1");
const B = keys.base;
let revision = 100n;

const labels = { "k8s:app": "web", "k8s:io.kubernetes.pod.namespace": "default" };
const digest = labelsDigest(labels);

const node = (name: string, cidr: string, address: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    name,
    cluster: "c1",
    addresses: [address],
    podCIDRs: [cidr],
    instance: `i-${name}`,
    registeredAt: "2024-01-01T00:00:00Z",
    ...extra,
  });

const endpoint = (n: string, id: number, ip: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    node: n,
    id,
    containerId: `c${id}`,
    ifname: "eth0",
    namespace: "default",
    pod: `p${id}`,
    labels: { app: "web" },
    identity: 300,
    ips: [ip],
    ...extra,
  });

/** A cluster of n1 (this node), n2 and n3 with an endpoint each and one identity. */
const GOOD: Array<[string, string]> = [
  [`${B}podcidrs/10.244.0.0_24`, "n1"],
  [`${B}podcidrs/10.244.2.0_24`, "n2"],
  [`${B}podcidrs/10.244.3.0_24`, "n3"],
  [`${B}nodes/n1`, node("n1", "10.244.0.0/24", "10.1.0.11")],
  [`${B}nodes/n2`, node("n2", "10.244.2.0/24", "10.1.0.12")],
  [`${B}nodes/n3`, node("n3", "10.244.3.0/24", "10.1.0.13")],
  [`${B}endpoints/n2/7`, endpoint("n2", 7, "10.244.2.7")],
  [`${B}endpoints/n3/8`, endpoint("n3", 8, "10.244.3.8")],
  [`${B}identities/labels/${digest}`, "300"],
  [`${B}identities/id/300`, JSON.stringify(labels)],
  [`${B}pods/default/p7`, JSON.stringify({ labels: { app: "web" } })],
  [`${B}namespaces/default`, JSON.stringify({ labels: { team: "a" } })],
];

function cluster() {
  const state = createState();
  state.nodes.upsert("n1", {
    name: "n1",
    cluster: "c1",
    addresses: ["10.1.0.11"],
    podCIDRs: ["10.244.0.0/24"],
    source: "self",
  });
  const lines: string[] = [];
  const log = createLogger("n1", "info", (l) => lines.push(l));
  const cache = new Map<string, number>();
  const records = new RecordReconciler(
    clusterKinds({
      keys,
      state,
      node: "n1",
      cluster: "c1",
      pools: { v4: "10.244.0.0/16", v6: "" },
      log,
      identities: { cache },
      services: {
        clusterIPRanges: [parseCidr("10.96.0.0/12")],
        nodePortRange: { min: 30000, max: 32767 },
      },
    }),
    new Rejections(state.rejected, log),
    log,
  );
  records.replaceAll(GOOD.map(([key, value]) => ({ key, value, modRevision: ++revision })));
  const put = (key: string, value: string): RecordChange => ({
    type: "put",
    key: `${B}${key}`,
    value,
    modRevision: ++revision,
  });
  const del = (key: string): RecordChange => ({
    type: "delete",
    key: `${B}${key}`,
    value: "",
    modRevision: ++revision,
  });
  return { state, records, put, del, lines, cache };
}

/** Every table's rows, to compare before and after. */
function snapshot(state: State): string {
  return JSON.stringify([
    state.nodes.entries(),
    state.endpoints.entries(),
    state.identities.entries(),
    state.pods.entries(),
    state.namespaces.entries(),
    state.policies.entries(),
  ]);
}

function assertIssues(actual: RecordIssue[] | undefined, expected: Array<[string, RegExp]>) {
  assert.ok(actual, "the record is reported");
  for (const [path, message] of expected) {
    assert.ok(
      actual.some((i) => i.path === path && message.test(i.message)),
      `no issue at ${JSON.stringify(path)} matching ${message}: ${JSON.stringify(actual)}`,
    );
  }
}

Deno.test("the record reconciler takes a good cluster whole", () => {
  const { state, cache } = cluster();
  assert.deepEqual(state.nodes.list().map((n) => `${n.name}:${n.source}`).sort(), [
    "n1:self",
    "n2:etcd",
    "n3:etcd",
  ]);
  assert.deepEqual(state.endpoints.list().map((e) => `${e.node}/${e.id}`).sort(), ["n2/7", "n3/8"]);
  assert.deepEqual(state.identities.get("300"), { id: 300, labels });
  assert.equal(cache.get("k8s:app=web;k8s:io.kubernetes.pod.namespace=default"), 300);
  assert.deepEqual(state.pods.get("default/p7")?.labels, { app: "web" });
  assert.equal(state.rejected.size, 0);
});

/** [what, changes, the report's table key, its issues] */
type Case = [
  string,
  (c: ReturnType<typeof cluster>) => RecordChange[],
  string,
  Array<[string, RegExp]>,
];

const BAD: Case[] = [
  [
    "a node with the pod CIDR 0.0.0.0/0",
    ({ put }) => [put("nodes/evil", node("evil", "0.0.0.0/0", "10.1.0.66"))],
    "Node/evil",
    [
      [
        "podCIDRs[0]",
        /Pod CIDR "0\.0\.0\.0\/0" is not a node CIDR inside the pod pool "10\.244\.0\.0\/16"/,
      ],
      ["podCIDRs[0]", /overlaps this node's own pod CIDR "10\.244\.0\.0\/24"/],
      ["podCIDRs[0]", /is not claimed/],
    ],
  ],
  [
    "a node with a claimed CIDR outside the pool",
    ({ put }) => [
      put("podcidrs/10.99.0.0_24", "evil"),
      put("nodes/evil", node("evil", "10.99.0.0/24", "10.1.0.66")),
    ],
    "Node/evil",
    [["podCIDRs[0]", /not a node CIDR inside the pod pool/]],
  ],
  [
    "a node with the whole pool, claimed",
    ({ put }) => [
      put("podcidrs/10.244.0.0_16", "evil"),
      put("nodes/evil", node("evil", "10.244.0.0/16", "10.1.0.66")),
    ],
    "Node/evil",
    [["podCIDRs[0]", /not a node CIDR inside the pod pool/]],
  ],
  [
    "a node with a CIDR nobody claimed",
    ({ put }) => [put("nodes/evil", node("evil", "10.244.9.0/24", "10.1.0.66"))],
    "Node/evil",
    [["podCIDRs[0]", /^Pod CIDR "10\.244\.9\.0\/24" is not claimed/]],
  ],
  [
    "a node with another node's CIDR",
    ({ put }) => [put("nodes/evil", node("evil", "10.244.2.0/24", "10.1.0.66"))],
    "Node/evil",
    [["podCIDRs[0]", /is claimed by node "n2"/]],
  ],
  [
    "a node with a claimed CIDR inside another node's older claim",
    ({ put }) => [
      put("podcidrs/10.244.2.0_25", "evil"),
      put("nodes/evil", node("evil", "10.244.2.0/25", "10.1.0.66")),
    ],
    "Node/evil",
    [["podCIDRs[0]", /overlaps "10\.244\.2\.0\/24", claimed earlier by node "n2"/]],
  ],
  [
    "a node with a newline in a CIDR",
    ({ put }) => [put("nodes/evil", node("evil", "10.244.9.0/24\nroute del default", "10.1.0.66"))],
    "Node/evil",
    [["podCIDRs[0]", /^Invalid CIDR "10\.244\.9\.0\/24\\nroute del default"/]],
  ],
  [
    "a node with a string for a list and a number for an address",
    ({ put }) => [
      put(
        "nodes/evil",
        node("evil", "x", "10.1.0.66", { podCIDRs: "10.244.9.0/24", addresses: [7] }),
      ),
    ],
    "Node/evil",
    [
      ["podCIDRs", /^Must be a list, got the string "10\.244\.9\.0\/24"$/],
      ["addresses[0]", /^Must be a string, got the number 7$/],
    ],
  ],
  [
    "a node without addresses",
    ({ put }) => [put("nodes/evil", JSON.stringify({ name: "evil", cluster: "c1", podCIDRs: [] }))],
    "Node/evil",
    [["addresses", /^Field "addresses" is required$/], ["podCIDRs", /at least 1/]],
  ],
  [
    "a node whose name is not its key's, of another cluster",
    ({ put }) => [put("nodes/evil", node("n2", "10.244.2.0/24", "10.1.0.12", { cluster: "c2" }))],
    "Node/evil",
    [["name", /does not match the name it is stored under \("evil"\)/], ["cluster", /"c2"/]],
  ],
  [
    "a node with unusable addresses",
    ({ put }) => [
      put("podcidrs/10.244.9.0_24", "evil"),
      put(
        "nodes/evil",
        node("evil", "10.244.9.0/24", "x", {
          addresses: ["fd00::1", "127.0.0.1", "10.244.2.7", "10.1.0.11"],
        }),
      ),
    ],
    "Node/evil",
    [
      ["addresses[0]", /Must be an IPv4 address/],
      ["addresses[1]", /loopback/],
      ["addresses[2]", /inside the pod pool/],
      ["addresses[3]", /this node's own address/],
    ],
  ],
  [
    "a giant node record",
    (
      { put },
    ) => [
      put("nodes/evil", node("evil", "10.244.9.0/24", "10.1.0.66", { pad: "x".repeat(200_000) })),
    ],
    "Node/evil",
    [["", /^Record is \d+ characters long; at most 65536 are accepted$/]],
  ],
  [
    "a node record that is no JSON",
    ({ put }) => [put("nodes/evil", "{not json")],
    "Node/evil",
    [["", /^Invalid JSON: /]],
  ],
  [
    "a node key that is no node name",
    ({ put }) => [put("nodes/Evil_1", node("Evil_1", "10.244.9.0/24", "10.1.0.66"))],
    "Node/Evil_1",
    [["", /^Key "Evil_1": the node must be a DNS label/], ["name", /Invalid node name/]],
  ],
  [
    "an endpoint whose address is outside its node's CIDR",
    ({ put }) => [put("endpoints/n2/9", endpoint("n2", 9, "10.244.3.99"))],
    "Endpoint/n2/9",
    [[
      "ips[0]",
      /Address "10\.244\.3\.99" is outside the pod CIDRs of node "n2" \(10\.244\.2\.0\/24\)/,
    ]],
  ],
  [
    "an endpoint of an unknown node",
    ({ put }) => [put("endpoints/ghost/9", endpoint("ghost", 9, "10.244.9.9"))],
    "Endpoint/ghost/9",
    [["node", /Node "ghost" is not known/]],
  ],
  [
    "an endpoint whose node and id are not its key's",
    ({ put }) => [put("endpoints/n2/9", endpoint("n3", 10, "10.244.2.9"))],
    "Endpoint/n2/9",
    [["node", /does not match the node it is stored under/], ["id", /does not match the id/]],
  ],
  [
    "an endpoint with a reserved identity",
    ({ put }) => [put("endpoints/n2/9", endpoint("n2", 9, "10.244.2.9", { identity: 1 }))],
    "Endpoint/n2/9",
    [["identity", /^Must be 256-16777215 \(the cluster identity range\), got 1$/]],
  ],
  [
    "an endpoint with a huge label map and an odd interface name",
    ({ put }) => [
      put(
        "endpoints/n2/9",
        endpoint("n2", 9, "10.244.2.9", {
          labels: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, "v"])),
          ifname: "eth0\nlink",
        }),
      ),
    ],
    "Endpoint/n2/9",
    [["labels", /^Must have at most 256 labels, got 300$/], ["ifname", /whitespace/]],
  ],
  [
    "an endpoint with bad label syntax and an over-long pod name",
    ({ put }) => [
      put(
        "endpoints/n2/9",
        endpoint("n2", 9, "10.244.2.9", { labels: { "a b": "x" }, pod: "p".repeat(300) }),
      ),
    ],
    "Endpoint/n2/9",
    [['labels["a b"]', /Invalid label key "a b"/], ["pod", /at most 253 characters/]],
  ],
  [
    "an endpoint key with no id",
    ({ put }) => [put("endpoints/n2/x", endpoint("n2", 9, "10.244.2.9"))],
    "Endpoint/n2/x",
    [["", /the endpoint id must be 1-65535/]],
  ],
  [
    "an identity out of range",
    ({ put }) => [put("identities/id/5", JSON.stringify({ "k8s:app": "x" }))],
    "Identity/5",
    [["", /not in the cluster identity range 256-16777215/]],
  ],
  [
    "an identity above the range",
    ({ put }) => [put("identities/id/99999999", JSON.stringify({ "k8s:app": "x" }))],
    "Identity/99999999",
    [["", /not in the cluster identity range/]],
  ],
  [
    "an identity whose labels the index gives to another number",
    ({ put }) => [put("identities/id/301", JSON.stringify(labels))],
    "Identity/301",
    [["", /Labels belong to identity "300" by the label index/]],
  ],
  [
    "an identity whose labels are not indexed",
    ({ put }) => [put("identities/id/302", JSON.stringify({ "k8s:app": "db" }))],
    "Identity/302",
    [["", /Labels are not in the label index/]],
  ],
  [
    "an identity of a string",
    ({ put }) => [put("identities/id/303", JSON.stringify("k8s:app=db"))],
    "Identity/303",
    [["", /^Must be an object, got the string "k8s:app=db"$/]],
  ],
  [
    "a label index entry that is no number",
    ({ put }) => [put(`identities/labels/${"a".repeat(64)}`, "12ab")],
    `IdentityLabels/${"a".repeat(64)}`,
    [["", /Must be an identity number 256-16777215, got "12ab"/]],
  ],
  [
    "a claim that is no CIDR",
    ({ put }) => [put("podcidrs/10.244.9.0_24\nx", "evil")],
    "PodCIDRClaim/10.244.9.0_24\nx",
    [["", /does not name a canonical CIDR/]],
  ],
  [
    "a pod with labels of the wrong type and a bad key",
    ({ put }) => [put("pods/default/Bad Pod", JSON.stringify({ labels: ["app"] }))],
    "Pod/default/Bad Pod",
    [["", /the pod name must be a lower-case DNS subdomain/], ["labels", /Must be an object/]],
  ],
  [
    "a namespace with a bad label value",
    ({ put }) => [put("namespaces/dev", JSON.stringify({ labels: { team: "a\nb" } }))],
    "Namespace/dev",
    [["labels.team", /Invalid label value/]],
  ],
  [
    "a policy stored under another policy's key",
    ({ put }) => [
      put(
        "policies/NetworkPolicy/default/a",
        JSON.stringify({
          apiVersion: "networking.k8s.io/v1",
          kind: "NetworkPolicy",
          metadata: { name: "b", namespace: "default" },
          spec: { podSelector: {} },
        }),
      ),
    ],
    "Policy/NetworkPolicy/default/a",
    [["metadata", /does not match the key it is stored under/]],
  ],
  [
    "a policy that does not parse",
    ({ put }) => [
      put(
        "policies/NetworkPolicy/default/a",
        JSON.stringify({
          apiVersion: "networking.k8s.io/v1",
          kind: "NetworkPolicy",
          metadata: { name: "a", namespace: "default" },
          spec: { podSelector: {}, ingress: "all" },
        }),
      ),
    ],
    "Policy/NetworkPolicy/default/a",
    [["spec.ingress", /Must be a list/]],
  ],
];

Deno.test("every bad record is rejected with its path and reason, and changes no table", async (t) => {
  for (const [what, changes, reportKey, issues] of BAD) {
    await t.step(what, () => {
      const c = cluster();
      const before = snapshot(c.state);
      c.records.apply(changes(c));
      assertIssues(c.state.rejected.get(reportKey)?.issues, issues);
      assert.equal(snapshot(c.state), before, "no table changed");
      assert.equal(c.state.rejected.get(reportKey)?.keeping, undefined);
      // deleting the record clears the report
      const source = c.state.rejected.get(reportKey)!.source;
      c.records.apply(changes(c).map((ch) => ({ ...ch, type: "delete" as const })));
      assert.equal(c.state.rejected.get(reportKey), undefined, `${source} still reported`);
      assert.equal(snapshot(c.state), before);
    });
  }
});

Deno.test("a record that turns bad keeps its last accepted row until fixed or deleted", () => {
  const { state, records, put, del, lines } = cluster();
  const n2 = JSON.stringify(state.nodes.get("n2"));
  records.apply([put("nodes/n2", node("n2", "0.0.0.0/0", "10.1.0.12"))]);
  assert.equal(JSON.stringify(state.nodes.get("n2")), n2, "the last good row stays");
  assert.equal(state.rejected.get("Node/n2")?.keeping, true);
  assert.match(lines.join("\n"), /Node record rejected; its last accepted version stays in force/);
  // its endpoints stay too: their node is still the accepted one
  assert.ok(state.endpoints.get("n2/7"));
  records.apply([put("nodes/n2", node("n2", "10.244.2.0/24", "10.1.0.12"))]);
  assert.equal(state.rejected.size, 0);
  assert.match(lines.join("\n"), /Node record no longer rejected/);
  records.apply([put("nodes/n2", "[]")]);
  records.apply([del("nodes/n2")]);
  assert.equal(state.nodes.get("n2"), undefined, "deleting withdraws it");
  assert.equal(state.rejected.size, 1, "its endpoint is left without a node");
  assert.match(state.rejected.get("Endpoint/n2/7")!.issues[0]!.message, /Node "n2" is not known/);
  assert.equal(state.rejected.get("Endpoint/n2/7")?.keeping, true);
});

Deno.test("records that depend on each other are judged once the batch is in", async (t) => {
  await t.step("an endpoint before its node, a node before its claim", () => {
    const { state, records, put } = cluster();
    records.apply([
      put("endpoints/n4/1", endpoint("n4", 1, "10.244.4.1")),
      put("nodes/n4", node("n4", "10.244.4.0/24", "10.1.0.14")),
      put("podcidrs/10.244.4.0_24", "n4"),
    ]);
    assert.equal(state.rejected.size, 0, JSON.stringify(state.rejected.list()));
    assert.ok(state.nodes.get("n4") && state.endpoints.get("n4/1"));
  });
  await t.step("an endpoint that waited for its node is taken when the node arrives", () => {
    const { state, records, put } = cluster();
    records.apply([put("endpoints/n4/1", endpoint("n4", 1, "10.244.4.1"))]);
    assert.ok(state.rejected.get("Endpoint/n4/1"));
    records.apply([
      put("podcidrs/10.244.4.0_24", "n4"),
      put("nodes/n4", node("n4", "10.244.4.0/24", "10.1.0.14")),
    ]);
    assert.equal(state.rejected.size, 0);
    assert.ok(state.endpoints.get("n4/1"));
  });
  await t.step("an identity and its label index entry in one transaction", () => {
    const { state, records, put, cache } = cluster();
    const db = { "k8s:app": "db" };
    records.apply([
      put("identities/id/301", JSON.stringify(db)),
      put(`identities/labels/${labelsDigest(db)}`, "301"),
    ]);
    assert.deepEqual(state.identities.get("301"), { id: 301, labels: db });
    assert.equal(cache.get("k8s:app=db"), 301);
  });
});

Deno.test("a failing reader of a table never stops the reconciler", () => {
  const { state, records, put, lines } = cluster();
  state.nodes.subscribe(() => {
    throw new Error("reader bug");
  });
  records.apply([
    put("podcidrs/10.244.4.0_24", "n4"),
    put("nodes/n4", node("n4", "10.244.4.0/24", "10.1.0.14")),
  ]);
  assert.ok(state.nodes.get("n4"), "the row is written");
  assert.match(lines.join("\n"), /a reader of a state table failed.*reader bug/);
  records.apply([put("endpoints/n4/1", endpoint("n4", 1, "10.244.4.1"))]);
  assert.ok(state.endpoints.get("n4/1"), "and the next batch carries on");
});
