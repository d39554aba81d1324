// A poisoned cluster store: while pods on three nodes exchange traffic, each class of bad record
// is written straight into etcd (around the agents). Every agent stays up, reports the record
// (API, CLI, metric), and changes no route and no ipcache row; traffic goes on without a failed
// connection; deleting (or restoring) the record clears the report everywhere.
import assert from "node:assert/strict";
import { ApiClient } from "../../core/api/client.ts";
import type { RejectedRecordRow } from "../../core/api/backend.ts";
import { Lab } from "../lab/lab.ts";
import { rrClient, rrServe } from "../lab/rr.ts";
import { waitFor } from "../lab/wait.ts";

const NODES = ["n1", "n2", "n3"] as const;

interface BadRecord {
  /** Keys under the cluster's base and their values; the first is the one reported. */
  puts: Array<[string, string]>;
  /** The report: kind and a problem it must name. */
  kind: string;
  message: RegExp;
  /** The nodes that read the record (a node does not read its own node record and endpoints). */
  on?: readonly string[];
}

Deno.test("poisoned cluster store: bad records are reported and change nothing", async (t) => {
  await using lab = await Lab.create({ nodes: 3, etcd: 1 });
  // Three agents starting at once on a busy machine can take longer than the default deadline.
  await Promise.all(NODES.map((n) => lab.node(n).agent.start()));
  const base = lab.etcdBase;
  const api = Object.fromEntries(
    NODES.map((n) => [n, new ApiClient({ socket: lab.node(n).socket })]),
  );
  using _close = { [Symbol.dispose]: () => Object.values(api).forEach((c) => c[Symbol.dispose]()) };

  const a = await lab.addPod("n1", "x/a");
  const b = await lab.addPod("n2", "x/b");
  const c = await lab.addPod("n3", "x/c");
  await using _sa = await rrServe(a.ns, { port: 7000 });
  await using _sb = await rrServe(b.ns, { port: 7000 });
  await using _sc = await rrServe(c.ns, { port: 7000 });
  const pairs = [[a, b], [b, c], [c, a]] as const;
  for (const [from, to] of pairs) {
    await waitFor(
      `${from.key} reaches ${to.key}`,
      async () =>
        (await rrClient(from.ns, { host: to.ip, port: 7000, mode: "crr", count: 3 })).failed === 0,
    );
  }

  // What must not change: each node's hypha routes and ipcache, and the agents' processes.
  const routes = async (n: string) =>
    (await lab.exec(n, ["ip", "route", "show", "proto", "77"])).stdout.trim().split("\n").sort()
      .join("\n");
  const ipcache = async (n: string) =>
    (await api[n]!.json<{ entries: unknown[] }>("GET", "/v1/bpf/maps/hypha_ipcache?limit=100000"))
      .entries.map((e) => JSON.stringify(e)).sort().join("\n");
  const pids = async () =>
    await Promise.all(
      NODES.map(async (n) =>
        (await api[n]!.json<{ node: { pid: number } }>("GET", "/v1/status")).node.pid
      ),
    );
  const before = {
    routes: await Promise.all(NODES.map(routes)),
    ipcache: await Promise.all(NODES.map(ipcache)),
    pids: await pids(),
  };
  const assertUnchanged = async () => {
    for (const n of NODES) assert.ok(lab.node(n).agent.running, `the agent of ${n} is running`);
    assert.deepEqual(await pids(), before.pids, "no agent restarted");
    assert.deepEqual(await Promise.all(NODES.map(routes)), before.routes, "routes unchanged");
    assert.deepEqual(await Promise.all(NODES.map(ipcache)), before.ipcache, "ipcache unchanged");
  };

  // Traffic between the three nodes all along: bounded runs, until the poisoning is over.
  let poisoning = true;
  const traffic = Promise.all(pairs.map(async ([from, to]) => {
    let ok = 0, failed = 0;
    for (let run = 0; poisoning && run < 400; run++) {
      const r = await rrClient(from.ns, {
        host: to.ip,
        port: 7000,
        mode: "crr",
        count: 10,
        timeoutMs: 3_000,
      });
      ok += r.ok;
      failed += r.failed;
    }
    return { pair: `${from.key} -> ${to.key}`, ok, failed };
  }));

  const rejected = async (n: string) =>
    (await api[n]!.json<{ rejected: RejectedRecordRow[] }>("GET", "/v1/status")).rejected;
  const reportedOn = (
    nodes: readonly string[],
    source: string,
    check: (r: RejectedRecordRow) => void,
  ) =>
    waitFor(`${nodes.join(", ")} report ${source}`, async () => {
      for (const n of nodes) {
        const r = (await rejected(n)).find((x) => x.source === source);
        if (!r) return false;
        check(r);
      }
      return true;
    });
  const clearedEverywhere = () =>
    waitFor("no node reports a rejected record", async () => {
      for (const n of NODES) if ((await rejected(n)).length) return false;
      return true;
    });

  const nodeCidr = async (name: string) =>
    (await api.n1!.json<{ nodes: Array<{ name: string; podCIDRs: string[] }> }>("GET", "/v1/nodes"))
      .nodes.find((x) => x.name === name)!.podCIDRs[0]!;
  const n2Cidr = await nodeCidr("n2");
  const node = (name: string, podCIDRs: unknown, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      name,
      cluster: `lab-${lab.id}`,
      addresses: [`${lab.subnet}.66`],
      podCIDRs,
      instance: "poison",
      registeredAt: new Date().toISOString(),
      ...extra,
    });
  const endpoint = (n: string, id: number, ip: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      node: n,
      id,
      containerId: "poison",
      ifname: "eth0",
      namespace: "x",
      pod: "poison",
      labels: {},
      identity: 60000,
      ips: [ip],
      ...extra,
    });
  const aIdentity = (await api.n1!.json<{ endpoints: Array<{ pod: string; identity: number }> }>(
    "GET",
    "/v1/endpoints",
  )).endpoints.find((e) => e.pod === "a")!.identity;
  const aLabels = await lab.etcdctl([
    "get",
    "--print-value-only",
    `${base}identities/id/${aIdentity}`,
  ]);
  const [n2Net] = n2Cidr.split("/");

  const BAD: Array<[string, BadRecord]> = [
    ["a node with the pod CIDR 0.0.0.0/0", {
      puts: [["nodes/evil1", node("evil1", ["0.0.0.0/0"])]],
      kind: "Node",
      message: /"0\.0\.0\.0\/0" is not a node CIDR inside the pod pool/,
    }],
    ["a node with a claimed CIDR outside the pool", {
      puts: [["nodes/evil2", node("evil2", ["10.99.0.0/24"])], ["podcidrs/10.99.0.0_24", "evil2"]],
      kind: "Node",
      message: /not a node CIDR inside the pod pool/,
    }],
    ["a node with a CIDR nobody claimed", {
      puts: [["nodes/evil3", node("evil3", ["10.244.200.0/24"])]],
      kind: "Node",
      message: /is not claimed/,
    }],
    ["a node with a claimed CIDR inside n2's", {
      puts: [
        ["nodes/evil4", node("evil4", [`${n2Net}/25`])],
        [`podcidrs/${n2Net}_25`, "evil4"],
      ],
      kind: "Node",
      // n2 sees the CIDR inside its own
      message: /claimed earlier by node "n2"|overlaps this node's own pod CIDR/,
    }],
    ["a node with a newline in a CIDR", {
      puts: [["nodes/evil5", node("evil5", ["10.244.201.0/24\nroute del default"])]],
      kind: "Node",
      message: /^Invalid CIDR "10\.244\.201\.0\/24\\nroute del default"/,
    }],
    ["a node with wrong types", {
      puts: [["nodes/evil6", node("evil6", "10.244.202.0/24", { addresses: 7 })]],
      kind: "Node",
      message: /^Must be a list, got the string "10\.244\.202\.0\/24"$/,
    }],
    ["a node with missing fields", {
      puts: [["nodes/evil7", JSON.stringify({ name: "evil7" })]],
      kind: "Node",
      message: /^Field "addresses" is required$/,
    }],
    ["a giant node record", {
      puts: [["nodes/evil8", node("evil8", ["10.244.203.0/24"], { pad: "x".repeat(100_000) })]],
      kind: "Node",
      message: /at most 65536 are accepted/,
    }],
    ["an endpoint giving pod c's address to n2", {
      puts: [["endpoints/n2/9999", endpoint("n2", 9999, c.ip)]],
      kind: "Endpoint",
      message: /is outside the pod CIDRs of node "n2"/,
      on: ["n1", "n3"],
    }],
    ["an endpoint with the world identity", {
      puts: [[
        "endpoints/n2/9998",
        endpoint("n2", 9998, b.ip.replace(/\.\d+$/, ".250"), { identity: 2 }),
      ]],
      kind: "Endpoint",
      message: /the cluster identity range/,
      on: ["n1", "n3"],
    }],
    ["an endpoint that is no JSON", {
      puts: [["endpoints/n2/9997", '{"node": "n2",']],
      kind: "Endpoint",
      message: /^Invalid JSON/,
      on: ["n1", "n3"],
    }],
    ["an identity out of range", {
      puts: [["identities/id/5", JSON.stringify({ "k8s:app": "poison" })]],
      kind: "Identity",
      message: /not in the cluster identity range/,
    }],
    ["an identity with pod a's labels under another number", {
      puts: [["identities/id/70001", aLabels.trim()]],
      kind: "Identity",
      message: new RegExp(`Labels belong to identity "${aIdentity}"`),
    }],
    ["an identity with a huge label map", {
      puts: [[
        "identities/id/70002",
        JSON.stringify(
          Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`k8s:k${i}`, "v"])),
        ),
      ]],
      kind: "Identity",
      message: /at most 256 labels/,
    }],
    ["a claim that is no CIDR", {
      puts: [["podcidrs/junk", "evil"]],
      kind: "PodCIDRClaim",
      message: /does not name a canonical CIDR/,
    }],
  ];

  for (const [what, bad] of BAD) {
    await t.step(what, async () => {
      for (const [key, value] of bad.puts) await lab.etcdctl(["put", `${base}${key}`, value]);
      await reportedOn(bad.on ?? NODES, `${base}${bad.puts[0]![0]}`, (r) => {
        assert.equal(r.kind, bad.kind);
        assert.ok(r.issues.some((i) => bad.message.test(i.message)), JSON.stringify(r.issues));
      });
      await assertUnchanged();
      for (const [key] of bad.puts) await lab.etcdctl(["del", `${base}${key}`]);
      await clearedEverywhere();
    });
  }

  await t.step(
    "a good node record turned bad keeps its last version; restoring it clears the report",
    async () => {
      const key = `${base}nodes/n3`;
      const held = await lab.etcdctl(["get", key, "-w", "json"]);
      const original = atob(JSON.parse(held).kvs[0].value);
      // the lease is a 64-bit number: read as text, not as a JSON number (53 bits)
      const lease = BigInt(/"lease":(\d+)/.exec(held)![1]!).toString(16);
      await lab.etcdctl(["put", key, node("n3", ["0.0.0.0/0"], { addresses: ["10.244.0.1"] })]);
      // n3 does not read its own record back; n1 and n2 report it and keep the last good one
      await reportedOn(["n1", "n2"], key, (r) => assert.equal(r.keeping, true));
      await assertUnchanged();
      const cli = (await lab.hypha("n1", ["node", "list"])).stdout;
      assert.match(cli, /Rejected records \(1\)/);
      assert.match(
        cli,
        /Node "n3" \(.*nodes\/n3\) \[its last accepted version stays in force\]: podCIDRs\[0\]/,
      );
      assert.match((await lab.hypha("n2", ["status"])).stdout, /Node "n3" .*nodes\/n3/);
      const metrics = await (await api.n1!.request("GET", "/metrics")).text();
      assert.match(metrics, /^hypha_store_rejected_records\{kind="Node"\} 1$/m);
      await lab.etcdctl(["put", key, original, `--lease=${lease}`]);
      await clearedEverywhere();
      await assertUnchanged();
    },
  );

  await t.step("traffic went on without a failed connection", async () => {
    poisoning = false;
    const results = await traffic;
    for (const r of results) {
      assert.equal(r.failed, 0, `${r.pair}: ${r.failed} failed of ${r.ok + r.failed}`);
      assert.ok(r.ok > 0, `${r.pair}: traffic ran`);
    }
    const metrics = await (await api.n2!.request("GET", "/metrics")).text();
    assert.match(metrics, /^hypha_store_rejected_records\{kind="Node"\} 0$/m);
  });
});
