// The cluster store going wrong: etcd unreachable when an agent starts, two agents claiming one
// node name, and a node whose agent dies for good (its lease expires and the others forget it).
import assert from "node:assert/strict";
import { join } from "node:path";
import { AgentProcess } from "../lab/agent_process.ts";
import { Lab } from "../lab/lab.ts";
import { run } from "../lab/netns.ts";
import { rrClient, rrServe } from "../lab/rr.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(fn: () => Promise<boolean>, what: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await sleep(250);
  }
}

Deno.test("cluster store faults: unreachable etcd, a conflicting node, a node that dies", async (t) => {
  await using lab = await Lab.create({
    nodes: 3,
    etcd: 1,
    nodeConfig: { store: { etcd: { leaseTTL: 5 } } },
  });

  await t.step("etcd unreachable at start: the agent says so, retries, and comes up", async () => {
    await lab.etcd!.stop(0);
    await Promise.all(["n1", "n2", "n3"].map((n) => lab.node(n).agent.start({ waitReady: false })));
    await waitFor(
      async () =>
        /registering the node: etcd unreachable, retrying/.test(
          await lab.node("n1").agent.logTail(20),
        ),
      "the agent logs that etcd is unreachable",
    );
    const st = await lab.hypha("n1", ["status", "-o", "json"]);
    assert.equal(JSON.parse(st.stdout).node.ready, false, "not ready without a pod CIDR");
    // CNI ADD meanwhile: the runtime is told to try again, and nothing is created
    const early = await lab.addPod("n1", "x/early", { conf: { agentWaitSeconds: 0 } }).catch((e) =>
      e as Error & { cni?: { code: number; msg: string } }
    );
    assert.ok("cni" in early && early.cni?.code === 103, String(early));
    await lab.etcd!.restart(0);
    await Promise.all(["n1", "n2", "n3"].map((n) => lab.node(n).agent.waitReady(30_000)));
  });

  const a = await lab.addPod("n1", "x/a");
  const b = await lab.addPod("n2", "x/b");
  await using _srv = await rrServe(b.ns, { port: 7000 });

  await t.step(
    "a second agent under a taken node name is refused and changes nothing",
    async () => {
      const n1 = lab.node("n1");
      // The same name, another state directory (another machine, as far as etcd can tell).
      const dir = join(lab.dir, "impostor");
      await Deno.mkdir(dir, { recursive: true });
      const config = join(dir, "config.yaml");
      const original = (await Deno.readTextFile(n1.configFile)).replace(
        /state: .*/,
        `state: ${join(dir, "state")}`,
      ).replace(/run: .*/, `run: ${join(dir, "run")}`).replace(
        /bpffs: .*/,
        `bpffs: ${join(dir, "bpffs")}`,
      );
      await Deno.writeTextFile(config, original);
      await Deno.mkdir(join(dir, "bpffs"), { recursive: true });
      await run(["mount", "-t", "bpf", "bpf", join(dir, "bpffs")]);
      try {
        const impostor = new AgentProcess(
          lab.node("n3").ns,
          config,
          join(dir, "run", "n1", "api.sock"),
          join(dir, "agent.log"),
        );
        await assert.rejects(impostor.start({ timeoutMs: 20_000 }), /exited with code 1/);
        const log = await impostor.logTail(5);
        assert.match(log, /Node name "n1" is registered by another agent/);
        await impostor.stop();
      } finally {
        await run(["umount", join(dir, "bpffs")], { allowFail: true });
      }
      const nodes = JSON.parse((await lab.hypha("n2", ["node", "list", "-o", "json"])).stdout)
        .nodes as Array<{ name: string; addresses: string[] }>;
      assert.deepEqual(nodes.find((n) => n.name === "n1")?.addresses, [n1.ip], "n1 is still n1");
      const r = await rrClient(a.ns, { host: b.ip, port: 7000, mode: "crr", count: 20 });
      assert.equal(r.failed, 0);
    },
  );

  await t.step(
    "a node whose agent dies expires: the others drop its routes and endpoints",
    async () => {
      const c = await lab.addPod("n3", "x/c");
      const nodes = async (node: string) =>
        JSON.parse((await lab.hypha(node, ["node", "list", "-o", "json"])).stdout).nodes as Array<
          { name: string; podCIDRs: string[] }
        >;
      const known = async (node: string) => (await nodes(node)).map((n) => n.name);
      assert.deepEqual(await known("n1"), ["n1", "n2", "n3"]);
      const cidr = (await nodes("n1")).find((n) => n.name === "n3")!.podCIDRs[0]!;
      await lab.node("n3").agent.stop("SIGKILL");
      await waitFor(async () => !(await known("n1")).includes("n3"), "n1 forgot n3", 20_000);
      const routes = (await lab.exec("n1", ["ip", "route", "show", "proto", "77"])).stdout;
      assert.ok(!routes.includes(cidr), `n1 still routes ${cidr}: ${routes}`);
      const eps = JSON.parse((await lab.hypha("n1", ["endpoint", "list", "-o", "json"])).stdout)
        .endpoints as Array<{ pod: string }>;
      assert.ok(!eps.some((e) => e.pod === "c"), "n3's endpoints expired with it");
      // n3 comes back: it registers again with the same pod CIDR, and its pod is reachable again
      await lab.node("n3").agent.start();
      await waitFor(async () => (await known("n1")).includes("n3"), "n3 is back on n1", 20_000);
      await using _c = await rrServe(c.ns, { port: 7001 });
      await waitFor(
        async () =>
          (await rrClient(a.ns, { host: c.ip, port: 7001, mode: "crr", count: 5 })).failed === 0,
        "a reaches c again",
      );
    },
  );
});
