// The datapath outlives the agent and the cluster store: while a TCP stream (iperf3) and a loop
// of short connections run between pods on two nodes, agents are restarted and killed and etcd
// members are restarted. Not one connection may fail. Then pods created and deleted while an
// agent is down are processed when it returns.
import assert from "node:assert/strict";
import { Lab } from "../lab/lab.ts";
import { iperfClient, iperfServe } from "../lab/iperf.ts";
import { run } from "../lab/netns.ts";
import { rrClient, rrServe } from "../lab/rr.ts";
import { snmpCounter } from "../lab/traffic.ts";
import { waitFor } from "../lab/wait.ts";

const PORT = 7000;
/** Upper bound of the traffic: it is stopped when the scenario ends. */
const MAX_SECONDS = 300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Status {
  datapath: { mapWrites: number; linkWrites: number };
}

for (const routing of ["tunnel", "native"] as const) {
  Deno.test(`restart continuity (${routing}): agents and etcd members restart under traffic, nothing fails`, async (t) => {
    await using lab = await Lab.create({ nodes: 3, etcd: 3, routing });
    await lab.startAgents();
    const client = await lab.addPod("n1", "x/client");
    const server = await lab.addPod("n2", "x/server");
    await using _rr = await rrServe(server.ns, { port: PORT });

    await t.step(
      "a stream and a connection loop survive agent restarts, kill -9 and etcd restarts",
      async () => {
        await iperfServe(server.ns);
        // The traffic runs until the scenario is over, however long the restarts take; between
        // events, and while an agent or member is down, it must have got connections through.
        const stop = new AbortController();
        const started = Date.now();
        const probe = rrClient(client.ns, {
          host: server.ip,
          port: PORT,
          mode: "probe",
          intervalMs: 20,
          durationS: MAX_SECONDS,
          timeoutMs: 1000,
          stop: stop.signal,
        });
        const stream = iperfClient(client.ns, server.ip, {
          seconds: MAX_SECONDS,
          stop: stop.signal,
        });
        const accepted = () => snmpCounter(server.ns, "Tcp", "PassiveOpens");
        const flowing = async () => {
          const from = await accepted();
          await waitFor(
            "25 more probe connections get through",
            async () => (await accepted()) >= from + 25,
            60_000,
            100,
          );
        };
        const events: string[] = [];
        const at = async (what: string, fn: () => Promise<unknown>) => {
          await flowing();
          await fn();
          events.push(what);
        };
        try {
          await at("SIGTERM restart of the client's agent", async () => {
            await lab.node("n1").agent.stop();
            await lab.node("n1").agent.start();
          });
          await at("kill -9 of the server's agent, then start", async () => {
            await lab.node("n2").agent.stop("SIGKILL");
            await flowing(); // while it is down
            await lab.node("n2").agent.start();
          });
          await at("kill -9 of etcd member 0, then restart", async () => {
            await lab.etcd!.kill(0);
            await flowing();
            await lab.etcd!.restart(0);
          });
          await at("restart of etcd member 1", () => lab.etcd!.restart(1));
          await at("SIGTERM restart of both agents at once", async () => {
            await Promise.all(["n1", "n2"].map((n) => lab.node(n).agent.stop()));
            await Promise.all(["n1", "n2"].map((n) => lab.node(n).agent.start()));
          });
          await flowing();
        } finally {
          stop.abort();
        }
        const seconds = Math.floor((Date.now() - started) / 1000);
        const [p, s] = await Promise.all([probe, stream]);
        assert.equal(events.length, 5, events.join("; "));
        assert.equal(p.failed, 0, `failed connections: ${JSON.stringify(p.firstFailures)}`);
        assert.ok(p.ok >= 6 * 25, `only ${p.ok} probes`);
        assert.ok(p.durationS < MAX_SECONDS, "the probe ran until the scenario ended");
        assert.equal(s.error, undefined, `iperf3: ${s.error}`);
        assert.ok(s.intervals.length >= seconds - 2, `${s.intervals.length} of ${seconds} s`);
        const stalls = s.intervals.filter((bps) => bps === 0).length;
        assert.equal(stalls, 0, `the stream stalled in ${stalls} of ${s.intervals.length} seconds`);
      },
    );

    await t.step("restarted agents wrote nothing to the datapath", async () => {
      for (const n of ["n1", "n2"]) {
        const st = JSON.parse((await lab.hypha(n, ["status", "-o", "json"])).stdout) as Status;
        const writes = st.datapath.mapWrites + st.datapath.linkWrites;
        if (writes) {
          assert.fail(`${n} wrote ${writes} times:\n${await lab.node(n).agent.logTail(25)}`);
        }
      }
    });

    await t.step(
      "a pod added while its agent is down is wired when the agent returns",
      async () => {
        const n3 = lab.node("n3").agent;
        await n3.stop();
        const adding = lab.addPod("n3", "x/late");
        adding.catch(() => {}); // a failure is the step's (at the await), not an uncaught one
        await sleep(2000); // the plugin keeps retrying the agent's socket
        await n3.start();
        const late = await adding;
        const r = await rrClient(late.ns, { host: server.ip, port: PORT, mode: "crr", count: 20 });
        assert.equal(r.failed, 0);
      },
    );

    await t.step(
      "a pod deleted while its agent is down is cleaned when the agent returns",
      async () => {
        const gone = await lab.addPod("n3", "x/gone");
        const n3 = lab.node("n3").agent;
        await n3.stop();
        // the runtime's DEL finds no agent and succeeds; the namespace goes with the pod
        const del = await lab.pods.tool("n3").del(
          lab.pods.conf("n3", { agentWaitSeconds: 1 }),
          { containerId: gone.containerId, netns: gone.netns, ifname: "eth0" },
        );
        assert.equal(del.exitCode, 0, del.stdout);
        await run(["ip", "netns", "del", gone.ns]);
        await n3.start();
        const local = JSON.parse((await lab.hypha("n3", ["endpoint", "list", "-o", "json"])).stdout)
          .endpoints as Array<{ pod: string }>;
        assert.ok(!local.some((e) => e.pod === "gone"), "the endpoint is gone");
        const map = JSON.parse(
          (await lab.hypha("n3", ["bpf", "map", "dump", "hypha_endpoints", "-o", "json"])).stdout,
        ).entries as unknown[];
        assert.equal(map.length, 1, "only x/late is left in the endpoint map");
        const net = JSON.parse((await lab.hypha("n3", ["network", "-o", "json"])).stdout).network;
        assert.equal(net.ipam[0].used, 1, "the address went back to the pool");
        await waitFor("other nodes forgot the endpoint (etcd)", async () => {
          const remote = JSON.parse(
            (await lab.hypha("n1", ["endpoint", "list", "-o", "json"])).stdout,
          ).endpoints as Array<{ pod: string }>;
          return !remote.some((e) => e.pod === "gone");
        });
      },
    );
  });
}
