import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { CniTool, CniToolError, formatCniArgs } from "./cnitool.ts";
import { startFakeAgent } from "./_fake_agent.ts";

const plugin = [Deno.execPath(), "run", "-A", fileURLToPath(new URL("./main.ts", import.meta.url))];
const tool = new CniTool({ plugin, timeoutMs: 30_000 });
const pod = {
  containerId: "c1",
  netns: "/run/netns/p1",
  ifname: "eth0",
  args: { IgnoreUnknown: "1", K8S_POD_NAMESPACE: "shop", K8S_POD_NAME: "web-0" },
};
const result = {
  interfaces: [{ name: "eth0", mac: "0a:00:00:00:00:02", mtu: 1450, sandbox: "/run/netns/p1" }],
  ips: [{ address: "10.0.0.5/32", gateway: "10.0.0.1", interface: 0 }],
  routes: [{ dst: "0.0.0.0/0", gw: "10.0.0.1" }],
  dns: {},
};

Deno.test("CniTool.version() runs main.ts and parses the VERSION result", async () => {
  const out = await tool.version({ cniVersion: "1.0.0" });
  assert.equal(out.exitCode, 0, out.stdout + out.stderr);
  assert.deepEqual(out.json, {
    cniVersion: "1.0.0",
    supportedVersions: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
  });
});

Deno.test("main.ts rejects bad input with the spec's error JSON and exit code 1", async (t) => {
  const conf = { cniVersion: "1.0.0", name: "podnet", type: "hypha", agentWaitSeconds: 0 };
  const cases: Array<[string, () => ReturnType<CniTool["exec"]>, number, RegExp]> = [
    [
      "missing CNI_NETNS",
      () => tool.add(conf, { ...pod, netns: "" }),
      4,
      /^Missing CNI_NETNS: required for ADD$/,
    ],
    [
      "bad CNI_IFNAME",
      () => tool.add(conf, { ...pod, ifname: "eth0:1" }),
      4,
      /^Invalid CNI_IFNAME "eth0:1"/,
    ],
    [
      "malformed stdin",
      () => tool.exec("ADD", "{nope", pod),
      6,
      /^Failed to decode the network configuration/,
    ],
    [
      "unsupported version",
      () => tool.add({ ...conf, cniVersion: "0.1.0" }, pod),
      1,
      /^Incompatible CNI version "0.1.0"/,
    ],
    [
      "bad field",
      () => tool.add({ ...conf, agentSocket: "x.sock" }, pod),
      7,
      /field "agentSocket": must be an absolute path/,
    ],
  ];
  for (const [name, invoke, code, msg] of cases) {
    await t.step(name, async () => {
      const out = await invoke();
      assert.equal(out.exitCode, 1);
      const err = out.json as { code: number; msg: string };
      assert.equal(err.code, code, out.stdout);
      assert.match(err.msg, msg);
    });
  }
});

Deno.test("CniTool round-trips every command through main.ts and a fake agent", async () => {
  await using agent = await startFakeAgent((req) =>
    req.command === "CHECK" && req.containerId === "gone"
      ? {
        status: 404,
        body: {
          error: { code: "not_found", message: "m" },
          cni: { code: 3, msg: 'No endpoint "gone"' },
        },
      }
      : { status: 200, body: { result: req.command === "ADD" ? result : null } }
  );
  const conf = { cniVersion: "0.4.0", name: "podnet", type: "hypha", agentSocket: agent.socket };

  const add = await tool.add(conf, pod);
  assert.equal(add.exitCode, 0, add.stdout + add.stderr);
  assert.deepEqual(add.json, {
    cniVersion: "0.4.0",
    interfaces: [{ name: "eth0", mac: "0a:00:00:00:00:02", sandbox: "/run/netns/p1" }],
    ips: [{ version: "4", address: "10.0.0.5/32", gateway: "10.0.0.1", interface: 0 }],
    routes: [{ dst: "0.0.0.0/0", gw: "10.0.0.1" }],
    dns: {},
  });
  const withPrev = { ...conf, prevResult: add.json };
  for (const out of [await tool.check(withPrev, pod), await tool.del(withPrev, pod)]) {
    assert.deepEqual([out.exitCode, out.stdout], [0, ""], out.stdout + out.stderr);
  }
  const v11 = { ...conf, cniVersion: "1.1.0" };
  const gc = await tool.gc({
    ...v11,
    "cni.dev/valid-attachments": [{ containerID: "c1", ifname: "eth0" }],
  });
  const status = await tool.status(v11);
  assert.deepEqual([gc.exitCode, gc.stdout, status.exitCode, status.stdout], [0, "", 0, ""]);

  const gone = await tool.check(withPrev, { ...pod, containerId: "gone" });
  assert.equal(gone.exitCode, 1);
  assert.deepEqual(gone.json, { cniVersion: "0.4.0", code: 3, msg: 'No endpoint "gone"' });

  assert.deepEqual(agent.requests.map((r) => [r.command, r.containerId, r.ifname]), [
    ["ADD", "c1", "eth0"],
    ["CHECK", "c1", "eth0"],
    ["DEL", "c1", "eth0"],
    ["GC", "", ""],
    ["STATUS", "", ""],
    ["CHECK", "gone", "eth0"],
  ]);
  assert.deepEqual(agent.requests[0]!.args, pod.args);
  assert.deepEqual(agent.requests[0]!.config, conf);
});

Deno.test("main.ts without an agent: DEL succeeds with a note, ADD asks to try again", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hypha-cni-" });
  try {
    const conf = {
      cniVersion: "1.0.0",
      name: "podnet",
      type: "hypha",
      agentSocket: `${dir}/api.sock`,
      agentWaitSeconds: 0.2,
    };
    const del = await tool.del(conf, { ...pod, netns: "" });
    assert.deepEqual([del.exitCode, del.stdout], [0, ""]);
    assert.match(
      del.stderr,
      /^hypha-cni: DEL of container "c1" ifname "eth0" reported as done: agent not reachable at ".*": no such socket \(waited 0.2s\)/,
    );
    const add = await tool.add(conf, pod);
    assert.equal(add.exitCode, 1);
    assert.deepEqual(
      [(add.json as { code: number }).code, (add.json as { msg: string }).msg],
      [11, `Agent not reachable at "${dir}/api.sock": no such socket (waited 0.2s)`],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CniTool.exec() kills a plugin that outlives the timeout", async () => {
  const slow = new CniTool({
    plugin: [Deno.execPath(), "eval", "await new Promise((r) => setTimeout(r, 20000))"],
    timeoutMs: 300,
  });
  await assert.rejects(slow.version(), (e: unknown) => {
    return e instanceof CniToolError && e.message === "CNI VERSION timed out after 300 ms";
  });
});

Deno.test("CniTool.exec() rejects a plugin that prints something other than JSON", async () => {
  const noisy = new CniTool({ plugin: [Deno.execPath(), "eval", "console.log('hello')"] });
  await assert.rejects(
    noisy.version(),
    /^CniToolError: CNI VERSION printed invalid JSON on stdout: .*"hello\\n"$/s,
  );
});

Deno.test("formatCniArgs() joins pairs with ';'", () => {
  assert.equal(
    formatCniArgs({ IgnoreUnknown: "1", K8S_POD_NAME: "web-0" }),
    "IgnoreUnknown=1;K8S_POD_NAME=web-0",
  );
  assert.equal(formatCniArgs({}), "");
});
