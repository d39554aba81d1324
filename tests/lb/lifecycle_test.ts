// The load balancer's lifecycle on a running node: switched off at runtime it removes its
// programs, links and maps (core's stages take the packets back), switched on again it serves
// again; an agent restart under traffic loses no connection and writes nothing.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ApiClient } from "../../core/api/client.ts";
import type { Lab } from "../lab/lab.ts";
import { run } from "../lab/netns.ts";
import { rrClient } from "../lab/rr.ts";
import { snmpCounter } from "../lab/traffic.ts";
import { addresses, answers, BACKEND_PORT, waitFor, webLab } from "./lb_lab.ts";

const SERVICE = `
apiVersion: v1
kind: Service
metadata: { name: web, namespace: x }
spec:
  type: NodePort
  selector: { app: web }
  ports: [{ port: 80, targetPort: ${BACKEND_PORT} }]
`;

async function status(lab: Lab, node: string) {
  using client = new ApiClient({ socket: lab.node(node).socket });
  return await client.json<{
    datapath: { mapWrites: number; linkWrites: number };
    plugins: Array<{ id: string; state: string; health: string }>;
  }>("GET", "/v1/status");
}

/** cgroup links attached to a node's subtree, as the kernel lists them. */
async function cgroupLinks(lab: Lab, node: string): Promise<number> {
  const config = await Deno.readTextFile(lab.node(node).configFile);
  const root = /cgroupRoot: (\S+)/.exec(config)![1]!;
  const r = await run(["bpftool", "-j", "cgroup", "show", root], { allowFail: true });
  return r.stdout.trim() ? (JSON.parse(r.stdout) as unknown[]).length : 0;
}

Deno.test("lb: switched off and on at runtime, and an agent restart under traffic", async (t) => {
  await using scene = await webLab(SERVICE);
  const { lab, b } = scene;
  const c = await lab.addPod("n1", "x/c", { labels: { app: "client" } });
  const web = await addresses(lab, "x/web");
  const n1 = lab.node("n1");
  const pinDir = join(lab.bpffs, "hypha", "n1", "plugins", "lb");
  const both = ["x/a", "x/b"];

  await t.step("metrics: services, frontends, backends by state, map fill ratios", async () => {
    using client = new ApiClient({ socket: n1.socket });
    const text = await client.text("/metrics");
    assert.match(text, /^hypha_lb_services 1$/m);
    assert.match(text, /^hypha_lb_frontends\{kind="NodePort"\} 1$/m);
    assert.match(text, /^hypha_lb_frontends\{kind="ClusterIP"\} 1$/m);
    assert.match(text, /^hypha_lb_backends\{state="active"\} 2$/m);
    assert.match(text, /^hypha_bpf_map_fill_ratio\{map="hypha_lb_frontends",owner="lb"\} \S+$/m);
  });

  await t.step("disabled at runtime: programs, links and maps are gone", async () => {
    assert.ok(existsSync(pinDir));
    assert.equal(await cgroupLinks(lab, "n1"), 8, "8 socket hooks");
    await lab.hypha("n1", ["plugins", "disable", "lb"]);
    const maps = (await lab.hypha("n1", ["bpf", "map", "list", "-o", "json"])).stdout;
    assert.doesNotMatch(maps, /hypha_lb_/);
    assert.ok(!existsSync(pinDir), `${pinDir} is removed`);
    assert.equal(await cgroupLinks(lab, "n1"), 0);
    const hooks = JSON.parse(
      (await lab.hypha("n1", ["bpf", "map", "dump", "hypha_hooks", "-o", "json"])).stdout,
    );
    assert.equal(hooks.entries.length, 0, "core's hook slots are empty");
    // n1 no longer balances: its node port has no listener (refused); pods still work
    assert.deepEqual(await answers(lab.external.ns, n1.ip, web.nodePort!, 2), {
      "!refused": 2,
    });
    const r = await rrClient(c.ns, { host: b.ip, port: BACKEND_PORT, mode: "crr", count: 50 });
    assert.equal(r.failed, 0, "pod networking is untouched");
    // n2 still does
    assert.deepEqual(
      Object.keys(await answers(lab.external.ns, lab.node("n2").ip, web.nodePort!, 12)).sort(),
      both,
    );
  });

  await t.step("enabled again: it serves again", async () => {
    await lab.hypha("n1", ["plugins", "enable", "lb"]);
    await waitFor("n1 serves again", async () => {
      const r = await answers(lab.external.ns, n1.ip, web.nodePort!, 1);
      return !Object.keys(r)[0]!.startsWith("!");
    });
    assert.deepEqual(Object.keys(await answers(c.ns, web.clusterIP!, 80, 12)).sort(), both);
    assert.equal(await cgroupLinks(lab, "n1"), 8);
  });

  await t.step("an agent restart under traffic: no failed connection, no write", async () => {
    // the traffic lasts until the restart is over; each phase waits for connections to arrive
    // at the backends (their namespaces' TCP counters), not for a fixed time
    const stop = new AbortController();
    const run = { durationS: 300, stop: stop.signal };
    const probes = [
      rrClient(lab.external.ns, {
        host: n1.ip,
        port: web.nodePort!,
        mode: "probe",
        intervalMs: 20,
        ...run,
      }),
      rrClient(c.ns, { host: web.clusterIP!, port: 80, mode: "probe", intervalMs: 20, ...run }),
      rrClient(lab.external.ns, { host: n1.ip, port: web.nodePort!, mode: "rr", ...run }),
    ];
    const accepted = async () =>
      (await snmpCounter(scene.a.ns, "Tcp", "PassiveOpens")) +
      (await snmpCounter(b.ns, "Tcp", "PassiveOpens"));
    const flowing = async (what: string) => {
      const from = await accepted();
      await waitFor(what, async () => (await accepted()) >= from + 20, 60_000, 50);
    };
    try {
      await flowing("the probes reach the backends");
      await n1.agent.stop();
      await flowing("connections get through while the agent is down");
      await n1.agent.start();
      await waitFor(
        "the plugin runs again",
        async () => (await status(lab, "n1")).plugins.find((p) => p.id === "lb")?.health === "ok",
      );
      await flowing("connections get through after the restart");
    } finally {
      stop.abort();
    }
    for (const r of await Promise.all(probes)) {
      assert.equal(r.failed, 0, `${r.mode}: ${JSON.stringify(r.firstFailures)}`);
      assert.ok(r.ok > 0, `${r.mode}: ${r.ok} ok`);
    }
    const s = await status(lab, "n1");
    assert.equal(s.datapath.mapWrites, 0, "the restarted agent wrote no map entry");
    assert.equal(s.datapath.linkWrites, 0, "nor attached anything");
  });
});
