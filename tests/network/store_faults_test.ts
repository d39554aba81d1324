// The cluster store going wrong: etcd unreachable when an agent starts, two agents claiming one
// node name, and a node whose agent dies for good (its lease expires and the others forget it).
import assert from "node:assert/strict";
import { join } from "node:path";
import { AgentProcess } from "../lab/agent_process.ts";
import { Lab } from "../lab/lab.ts";
import { run } from "../lab/netns.ts";
import { rrClient, rrServe } from "../lab/rr.ts";
import { hyphaRoutes, nodeApi, waitConverged } from "../lab/converge.ts";
import { waitFor } from "../lab/wait.ts";
import type { EndpointRow, NodeRow } from "../../core/api/backend.ts";

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
      "the agent logs that etcd is unreachable",
      async () =>
        /registering the node: etcd unreachable, retrying/.test(
          await lab.node("n1").agent.logTail(20),
        ),
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
      // n1 must have n3, its route and its endpoint first, or their absence proves nothing
      await waitConverged(lab);
      const nodes = async () => (await nodeApi<{ nodes: NodeRow[] }>(lab, "n1", "/v1/nodes")).nodes;
      const known = async () => (await nodes()).map((n) => n.name);
      const cidr = (await nodes()).find((n) => n.name === "n3")!.podCIDRs[0]!;
      assert.ok((await hyphaRoutes(lab, "n1")).includes(cidr), `n1 routes ${cidr} to n3`);
      const podsOnN1 = async () =>
        (await nodeApi<{ endpoints: EndpointRow[] }>(lab, "n1", "/v1/endpoints")).endpoints
          .map((e) => e.pod);
      assert.ok((await podsOnN1()).includes("c"), "n1 knows n3's endpoint");
      await lab.node("n3").agent.stop("SIGKILL");
      await waitFor("n1 forgot n3", async () => !(await known()).includes("n3"));
      // the node list, the routes and the endpoints each follow the store on their own
      await waitFor(
        `n1 no longer routes ${cidr}`,
        async () => !(await hyphaRoutes(lab, "n1")).includes(cidr),
      );
      await waitFor(
        "n3's endpoints expired with it",
        async () => !(await podsOnN1()).includes("c"),
      );
      // n3 comes back: it registers again with the same pod CIDR, and its pod is reachable again
      await lab.node("n3").agent.start();
      await waitConverged(lab);
      assert.equal((await nodes()).find((n) => n.name === "n3")?.podCIDRs[0], cidr, "same CIDR");
      await using _c = await rrServe(c.ns, { port: 7001 });
      const r = await rrClient(a.ns, { host: c.ip, port: 7001, mode: "crr", count: 5 });
      assert.equal(r.failed, 0, `a reaches c again: ${JSON.stringify(r.firstFailures)}`);
    },
  );
});
