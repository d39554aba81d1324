// State files survive what a node can do to them. An agent killed (-9) in the middle of state
// writes while pods come and go comes back with every running pod wired and nothing leaked; a
// "power cut" that empties or tears a state file (and leaves a stray temp file) costs no pod its
// network and no start: the agent reports the file and rebuilds what it held.
import assert from "node:assert/strict";
import { join } from "node:path";
import { ApiClient } from "../../core/api/client.ts";
import type { StateFileDamage } from "../../core/state_files/mod.ts";
import { Lab, type LabNode, WORLD_IP } from "../lab/lab.ts";
import { rrClient, rrServe, type RrServer } from "../lab/rr.ts";
import { Runtime, type RuntimePod } from "../lab/runtime.ts";
import { ip } from "../lab/netns.ts";
import { ENDPOINT_IFNAME_PREFIX } from "../../core/network/node_network.ts";
import { waitFor } from "../lab/wait.ts";

const PORT = 7000;
const KILL_ROUNDS = 6;
/** An agent start is slow on a loaded machine (BPF verification): a deadline, not a delay. */

const CIDR_POLICY = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: to-world, namespace: x}
spec:
  endpointSelector: {matchLabels: {app: cidr}}
  egress: [{toCIDR: ["${WORLD_IP}/32"]}]
`;
const SERVICE = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: x}
spec: {selector: {app: server}, ports: [{port: 80, targetPort: ${PORT}, protocol: TCP}]}
`;

/** What an endpoint file rebuilt from the kernel must have as before. */
const WIRING = [
  "id",
  "containerId",
  "ifname",
  "namespace",
  "pod",
  "identity",
  "ips",
  "netns",
  "hostIfname",
  "hostMac",
  "podMac",
  "mtu",
  "labels",
];

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, o[k]]));
}

interface EndpointRow {
  node: string;
  namespace: string;
  pod: string;
  ips: string[];
  identity: number;
}

function api(n: LabNode): ApiClient {
  return new ApiClient({ socket: n.socket });
}

async function get<T>(n: LabNode, path: string): Promise<T> {
  using client = api(n);
  return await client.json<T>("GET", path);
}

/** This node's endpoints as "ns/pod" -> addresses. */
async function localEndpoints(n: LabNode): Promise<Map<string, string>> {
  const { endpoints } = await get<{ endpoints: EndpointRow[] }>(n, "/v1/endpoints");
  return new Map(
    endpoints.filter((e) => e.node === n.name).map((
      e,
    ) => [`${e.namespace}/${e.pod}`, e.ips.join()]),
  );
}

async function addressesInUse(n: LabNode): Promise<number> {
  const { network } = await get<{ network: { ipam: Array<{ used: number }> } }>(n, "/v1/network");
  return network.ipam.reduce((s, i) => s + i.used, 0);
}

async function damaged(n: LabNode): Promise<StateFileDamage[]> {
  const s = await get<{ node: { damagedStateFiles?: StateFileDamage[] } }>(n, "/v1/status");
  return s.node.damagedStateFiles ?? [];
}

async function stateFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) out.push(...await stateFiles(path));
    else if (e.isFile) out.push(path);
  }
  return out.sort();
}

/**
 * Kills the agent with SIGKILL right after the `nth` temp file of a state write appears in its
 * state directory: the kill lands inside or just after a durable write. Returns that file.
 */
async function killDuringWrite(n: LabNode, stateDir: string, nth: number): Promise<string> {
  const watcher = Deno.watchFs(stateDir, { recursive: true });
  const timer = setTimeout(() => watcher.close(), 60_000);
  let seen = 0;
  let at = "";
  try {
    for await (const e of watcher) {
      const tmp = e.kind === "create" ? e.paths.find((p) => p.endsWith(".tmp")) : undefined;
      if (tmp && ++seen === nth) {
        at = tmp;
        break;
      }
    }
  } finally {
    clearTimeout(timer);
    watcher.close();
  }
  if (!at) throw new Error(`no state write on ${n.name} within 60 s`);
  await n.agent.stop("SIGKILL");
  return at;
}

Deno.test("durable state: kill -9 inside state writes and damaged state files cost no pod its network", async (t) => {
  await using lab = await Lab.create({ nodes: 2 });
  await Promise.all([...lab.nodes.values()].map((n) => n.agent.start()));
  const n1 = lab.node("n1");
  const stateDir = join(n1.dir, "state", "n1");
  const runtime = new Runtime(lab, "n1");
  const peer = await lab.addPod("n2", "x/peer");
  const servers: RrServer[] = [];
  /** Pods on n1 that the runtime believes are running ("ns/pod" -> pod). */
  const running = new Map<string, RuntimePod>();
  const addServer = async (key: string, labels: Record<string, string>) => {
    const pod = await runtime.add(key, labels);
    assert.ok(pod, `ADD of ${key}`);
    servers.push(await rrServe(pod.ns, { port: PORT }));
    running.set(key, pod);
  };
  try {
    await addServer("x/s1", { app: "server" });
    await addServer("x/s2", { app: "server" });
    await addServer("x/cidr", { app: "cidr" });
    using client = api(n1);
    const applyPolicy = () => client.json("POST", "/v1/policies", CIDR_POLICY);
    const applyService = () => client.json("POST", "/v1/services", SERVICE);
    await applyPolicy();
    await applyService();
    await waitFor("the CIDR identity is written", async () => {
      const ids = JSON.parse(await Deno.readTextFile(join(stateDir, "cidr_identities.json")));
      return Object.keys(ids).includes(`${WORLD_IP}/32`);
    });

    /** Every running pod answers (servers from the peer on n2, the others reach s1). */
    const assertNetworked = async (when: string) => {
      const s1 = running.get("x/s1")!;
      const checks = [...running.values()].map(async (pod) => {
        const r = servers.some((s) => s.ns === pod.ns)
          ? await rrClient(peer.ns, { host: pod.ip, port: PORT, mode: "crr", count: 3 })
          : await rrClient(pod.ns, { host: s1.ip, port: PORT, mode: "crr", count: 3 });
        return r.failed === 0 && r.ok === 3
          ? ""
          : `${pod.key} (${JSON.stringify(r.firstFailures)})`;
      });
      const failed = (await Promise.all(checks)).filter(Boolean);
      assert.deepEqual(failed, [], `${when}: pods without network`);
    };
    /** n1 holds exactly the running pods, with their addresses, and no temp file. */
    const assertConsistent = async (when: string) => {
      const want = new Map([...running].map(([k, p]) => [k, p.ip]));
      assert.deepEqual(await localEndpoints(n1), want, `${when}: endpoints`);
      assert.equal(await addressesInUse(n1), running.size, `${when}: addresses in use`);
      const temps = (await stateFiles(stateDir)).filter((f) => f.endsWith(".tmp"));
      assert.deepEqual(temps, [], `${when}: temp files left`);
      const links = JSON.parse((await ip(n1.ns, "-j", "link", "show")).stdout) as Array<
        { ifname: string }
      >;
      const veths = links.filter((l) => l.ifname.startsWith(ENDPOINT_IFNAME_PREFIX)).length;
      assert.equal(veths, running.size, `${when}: endpoint veths (one per running pod)`);
    };
    await assertConsistent("before");

    await t.step("kill -9 inside state writes while pods come and go", async () => {
      for (let round = 0; round < KILL_ROUNDS; round++) {
        let stop = false;
        const churn = (async () => {
          for (let i = 0; !stop && i < 20; i++) {
            const key = `churn/r${round}-${i}`;
            const pod = await runtime.add(key, { app: `churn${(round + i) % 3}` });
            if (pod) running.set(key, pod);
            const old = [...running.keys()].find((k) => k.startsWith("churn/") && k !== key);
            if (i % 2 === 1 && old) {
              await runtime.del(running.get(old)!);
              running.delete(old);
            }
          }
        })();
        const at = await killDuringWrite(n1, stateDir, round % 3 + 1);
        await n1.agent.start();
        stop = true;
        await churn;
        const when = `round ${round} (killed at ${at.slice(stateDir.length + 1)})`;
        await assertConsistent(when);
        await assertNetworked(when);
      }
    });

    await t.step(
      "power cut: each state file emptied or torn in turn, a stray temp file",
      async () => {
        for (const [key, pod] of running) {
          if (!key.startsWith("churn/")) continue;
          await runtime.del(pod); // one endpoint file per kind of pod is enough from here on
          running.delete(key);
        }
        const files = (await stateFiles(stateDir)).filter((f) => !f.endsWith(".damaged"));
        assert.ok(files.length >= 10, `state files: ${files.join(", ")}`);
        for (const [i, file] of files.entries()) {
          const name = file.slice(stateDir.length + 1);
          const before = await Deno.readTextFile(file);
          const endpoints = await localEndpoints(n1);
          await n1.agent.stop("SIGKILL"); // a power cut: no graceful stop
          await Deno.writeTextFile(file, i % 2 ? before.slice(0, before.length >> 1) : "");
          await Deno.writeTextFile(`${file}.0badc0de.tmp`, before.slice(0, 7));
          await n1.agent.start(); // throws when the agent refuses to start
          const when = `${name} ${i % 2 ? "torn" : "emptied"}`;
          if (name === "agent.json") {
            // Rewritten by every start before anyone reads it.
            assert.equal(JSON.parse(await Deno.readTextFile(file)).pid > 0, true);
          } else {
            const report = (await damaged(n1)).find((d) => d.path === file);
            assert.ok(report, `${when}: not reported in hypha status`);
            if (name === "instance") {
              const text = (await lab.hypha("n1", ["status"])).stdout;
              assert.ok(text.includes(`State file: DAMAGED ${file}: `), text);
            }
            if (name.startsWith("endpoints/")) {
              assert.match(report.recovery, /^rebuilt from the kernel/);
            }
          }
          await assertConsistent(when);
          assert.deepEqual(await localEndpoints(n1), endpoints, `${when}: endpoints changed`);
          await assertNetworked(when);
          if (name === "cidr_identities.json" || name.startsWith("endpoints/")) {
            const rebuilt = JSON.parse(await Deno.readTextFile(file));
            const fields = name.startsWith("endpoints/") ? WIRING : Object.keys(rebuilt);
            assert.deepEqual(pick(rebuilt, fields), pick(JSON.parse(before), fields), when);
          }
          if (name === "policies.json") await applyPolicy(); // "apply them again"
          if (name === "services.json") await applyService();
        }
      },
    );
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
});

Deno.test("durable state (etcd): a damaged instance id or lease file neither refuses a start nor cuts a pod off", async () => {
  await using lab = await Lab.create({ nodes: 2, etcd: 1 });
  await Promise.all([...lab.nodes.values()].map((n) => n.agent.start()));
  const n1 = lab.node("n1");
  const stateDir = join(n1.dir, "state", "n1");
  const pod = await lab.addPod("n1", "x/a");
  const peer = await lab.addPod("n2", "x/peer");
  await using _server = await rrServe(pod.ns, { port: PORT });
  for (const name of ["instance", "etcd_lease"]) {
    const file = join(stateDir, name);
    await n1.agent.stop("SIGKILL"); // a power cut: no graceful stop
    // Restarted at once: the previous registration's lease is alive, so a lost instance id
    // would look like a second agent under the same node name.
    await Deno.writeTextFile(file, "");
    await Deno.writeTextFile(`${file}.0badc0de.tmp`, "junk");
    await n1.agent.start();
    const report = (await damaged(n1)).find((d) => d.path === file);
    assert.ok(report, `${name}: not reported in hypha status`);
    if (name === "instance") assert.match(report.recovery, /restored from the pinned copy/);
    await assert.rejects(Deno.stat(`${file}.0badc0de.tmp`), Deno.errors.NotFound);
    const r = await rrClient(peer.ns, { host: pod.ip, port: PORT, mode: "crr", count: 3 });
    assert.equal(r.ok, 3, `${name}: ${JSON.stringify(r.firstFailures)}`);
  }
});
