// The node agent end to end, in a lab: real agents in network namespaces, real tc programs on the
// nodes' eth0, real traffic. Restarts must leave the datapath untouched and write nothing.
import assert from "node:assert/strict";
import { Lab, ping } from "../lab/mod.ts";
import { snmpCounter } from "../lab/traffic.ts";
import { waitFor } from "../lab/wait.ts";

interface Status {
  node: { name: string; ready: boolean };
  datapath: {
    devices: string[];
    mapWrites: number;
    linkWrites: number;
    attachments: Array<{ ifname: string; direction: string; kind: string; programId: number }>;
  };
}
interface Counter {
  ifname: string;
  direction: string;
  packets: number;
}

async function status(lab: Lab, node: string): Promise<Status> {
  return JSON.parse((await lab.hypha(node, ["status", "-o", "json"])).stdout);
}

async function ingressPackets(lab: Lab, node: string): Promise<number> {
  const { counters } = JSON.parse((await lab.hypha(node, ["counters", "-o", "json"])).stdout) as {
    counters: Counter[];
  };
  return counters.find((c) => c.ifname === "eth0" && c.direction === "ingress")?.packets ?? 0;
}

const programIds = (s: Status) => s.datapath.attachments.map((a) => a.programId).sort();

Deno.test("agent: attaches, counts traffic, and restarts without touching the datapath", async (t) => {
  await using lab = await Lab.create({ nodes: 2 });
  await lab.startAgents();
  const n1 = lab.node("n1");
  const n2 = lab.node("n2");
  let first: Status;

  await t.step("start: ready, tcx programs on eth0 ingress and egress", async () => {
    first = await status(lab, "n2");
    assert.equal(first.node.ready, true);
    assert.deepEqual(first.datapath.devices, ["eth0"]);
    assert.deepEqual(
      first.datapath.attachments.map((a) => `${a.ifname}/${a.direction}/${a.kind}`).sort(),
      [
        "eth0/egress/tcx",
        "eth0/ingress/tcx",
        "hypha_vxlan/egress/tcx",
        "hypha_vxlan/ingress/tcx",
      ],
    );
  });

  await t.step("traffic is counted per interface, in the API and /metrics", async () => {
    const before = await ingressPackets(lab, "n2");
    assert.deepEqual(await ping(n1.ns, n2.ip, 5), { sent: 5, received: 5 });
    assert.ok((await ingressPackets(lab, "n2")) >= before + 5);
    const metrics =
      (await lab.exec("n2", ["curl", "-sf", "--unix-socket", n2.socket, "http://hypha/metrics"]))
        .stdout;
    assert.match(
      metrics,
      /^hypha_interface_packets_total\{interface="eth0",direction="ingress"\} \d+$/m,
    );
    assert.match(metrics, /^hypha_bpf_map_fill_ratio\{map="hypha_devices",owner="core"\} /m);
  });

  await t.step(
    "graceful restart: counting goes on while the agent is down, zero writes after",
    async () => {
      const before = await ingressPackets(lab, "n2");
      assert.equal(await n2.agent.stop("SIGTERM"), 0);
      assert.deepEqual(await ping(n1.ns, n2.ip, 3), { sent: 3, received: 3 });
      await n2.agent.start();
      const after = await status(lab, "n2");
      assert.equal(after.datapath.mapWrites, 0, "map writes by the restarted agent");
      assert.equal(after.datapath.linkWrites, 0, "link writes by the restarted agent");
      assert.deepEqual(programIds(after), programIds(first), "the same programs stay attached");
      assert.ok(
        (await ingressPackets(lab, "n2")) >= before + 3,
        "packets seen while the agent was down",
      );
    },
  );

  await t.step("kill -9 during traffic: no packet lost, zero writes after", async () => {
    const echoes = () => snmpCounter(n2.ns, "Icmp", "InEchos");
    const before = await echoes();
    const pinging = ping(n1.ns, n2.ip, 15); // 3 s of pings across the crash and restart
    // the kill lands while the pings arrive, not before the first one
    await waitFor("the pings arrive", async () => (await echoes()) > before, 20_000, 50);
    await n2.agent.stop("SIGKILL");
    await n2.agent.start();
    assert.deepEqual(await pinging, { sent: 15, received: 15 });
    const after = await status(lab, "n2");
    assert.equal(after.datapath.mapWrites + after.datapath.linkWrites, 0);
    assert.deepEqual(programIds(after), programIds(first));
  });

  await t.step("cleanup removes the programs and pins", async () => {
    await n2.agent.stop();
    const out = await lab.hypha("n2", ["cleanup", "-o", "json"]);
    const { removed } = JSON.parse(out.stdout) as { removed: string[] };
    assert.ok(removed.includes("2 tc attachment(s)"), out.stdout);
    for (const id of programIds(first)) {
      const r = await lab.exec("n2", ["bpftool", "prog", "show", "id", String(id)], {
        allowFail: true,
      });
      assert.notEqual(r.code, 0, `program ${id} is gone`);
    }
    await assert.rejects(Deno.stat(`${lab.bpffs}/hypha/n2`), Deno.errors.NotFound);
    await n2.agent.start(); // and a fresh start works again
  });
});

Deno.test("agent: bad input is refused with a clear error and changes nothing", async (t) => {
  await using lab = await Lab.create({ nodes: 1 });
  await lab.startAgents();
  const n1 = lab.node("n1");
  const started = await status(lab, "n1");
  const before = programIds(started);
  const firstWrites = started.datapath.mapWrites + started.datapath.linkWrites;
  const tryStart = (...sets: string[]) =>
    lab.hypha("n1", ["agent", ...sets.flatMap((s) => ["--set", s])], { allowFail: true });

  for (
    const [what, sets, message] of [
      [
        "an invalid value",
        ["datapath.attachMode=fast"],
        /datapath\.attachMode: "fast" is not one of/,
      ],
      ["an unknown field", ["datapath.colour=blue"], /datapath\.colour: unknown field/],
      ["an unknown plugin", ["plugins.nope.enabled=true"], /plugins\.nope: unknown plugin/],
      [
        "a missing device",
        ["datapath.devices=[eth9]"],
        /datapath\.devices: interface "eth9" does not exist/,
      ],
    ] as const
  ) {
    await t.step(`config with ${what}`, async () => {
      const r = await tryStart(...sets);
      assert.equal(r.code, 1);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, message);
    });
  }

  await t.step("the running agent and its datapath were not touched", async () => {
    const s = await status(lab, "n1");
    assert.equal(s.node.ready, true);
    assert.deepEqual(programIds(s), before);
    assert.equal(
      s.datapath.mapWrites + s.datapath.linkWrites,
      firstWrites,
      "only the first start's writes",
    );
  });

  await t.step("API errors reach the CLI as one line", async () => {
    const r = await lab.hypha("n1", ["plugins", "enable", "nope"], { allowFail: true });
    assert.equal(r.code, 1);
    assert.match(r.stderr.trim(), /^hypha: Unknown plugin "nope"/);
    const dump = await lab.hypha("n1", ["bpf", "map", "dump", "nope"], { allowFail: true });
    assert.match(dump.stderr.trim(), /^hypha: No BPF map "nope"/);
  });

  await t.step("a pinned map whose layout changed is refused until cleanup", async () => {
    await n1.agent.stop();
    const pin = `${lab.bpffs}/hypha/n1/maps/hypha_devices`;
    await Deno.remove(pin);
    await lab.exec("n1", [
      "bpftool",
      "map",
      "create",
      pin,
      "type",
      "hash",
      "key",
      "8",
      "value",
      "8",
      "entries",
      "16",
      "name",
      "hypha_devices",
    ]);
    const r = await tryStart();
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /pinned map ".*hypha_devices".*layout changed \(key size 8 -> 4, value size 8 -> 16, max entries 16 -> 256\).*hypha cleanup/,
    );
    await lab.hypha("n1", ["cleanup"]);
    await n1.agent.start();
    assert.equal((await status(lab, "n1")).node.ready, true);
  });
});

Deno.test("agent: config shows every field with its source", async () => {
  await using lab = await Lab.create({ nodes: 1 });
  await lab.startAgents();
  const { config } = JSON.parse((await lab.hypha("n1", ["config", "-o", "json"])).stdout) as {
    config: Array<{ path: string; value: unknown; source: string }>;
  };
  const row = (p: string) => config.find((r) => r.path === p);
  assert.equal(row("node.name")?.value, "n1");
  assert.match(row("node.name")!.source, /^node file .*config\.yaml$/);
  assert.equal(row("log.level")?.source, "deno.json");
  assert.equal(row("api.tcp.enabled")?.value, false);
});
