import assert from "node:assert/strict";
import { join } from "node:path";
import type { CniCommand } from "./env.ts";
import { runCniPlugin } from "./plugin.ts";
import { agentCallOverSocket } from "./agent_call.ts";
import { startSilentAgent, within } from "./_fake_agent.ts";
import {
  type AgentAnswer,
  type AgentCall,
  AgentUnreachableError,
  type CniRequest,
} from "./protocol.ts";

const SOCKET = "/run/hypha/n1/api.sock";
const conf = {
  cniVersion: "1.0.0",
  name: "podnet",
  type: "hypha",
  agentSocket: SOCKET,
  agentWaitSeconds: 2,
};
const attachment = {
  CNI_CONTAINERID: "c1",
  CNI_NETNS: "/run/netns/p1",
  CNI_IFNAME: "eth0",
  CNI_PATH: "/opt/cni/bin",
  CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-0",
};
const result = {
  interfaces: [{ name: "eth0", mac: "0a:00:00:00:00:02", sandbox: "/run/netns/p1" }],
  ips: [{ address: "10.0.0.5/32", gateway: "10.0.0.1", interface: 0 }],
  routes: [{ dst: "0.0.0.0/0" }],
  dns: {},
};

/** An AgentCall that records requests and answers from a script (an Error is thrown). */
function fakeAgent(...answers: Array<AgentAnswer | Error>) {
  const requests: Array<{ socket: string; request: CniRequest }> = [];
  const call: AgentCall = (socket, request) => {
    requests.push({ socket, request });
    const next = answers.length > 1 ? answers.shift()! : answers[0]!;
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  };
  return { call, requests };
}

function run(
  command: CniCommand,
  stdin: unknown,
  call: AgentCall,
  extra: Record<string, string> = {},
) {
  const sleeps: number[] = [];
  const sleep = (ms: number) => (sleeps.push(ms), Promise.resolve());
  const text = typeof stdin === "string" ? stdin : JSON.stringify(stdin);
  return runCniPlugin({
    env: { ...attachment, CNI_COMMAND: command, ...extra },
    stdin: text,
    call,
    sleep,
  })
    .then((out) => ({ ...out, sleeps, json: out.stdout ? JSON.parse(out.stdout) : undefined }));
}

const gcConf = {
  ...conf,
  cniVersion: "1.1.0",
  "cni.dev/valid-attachments": [{ containerID: "c1", ifname: "eth0" }],
};
const refused = () => new AgentUnreachableError(SOCKET, "connection refused");

Deno.test("runCniPlugin() answers VERSION without the agent", async () => {
  const agent = fakeAgent(new Error("must not be called"));
  const out = await run("VERSION", { cniVersion: "0.4.0" }, agent.call);
  assert.equal(out.exitCode, 0);
  assert.deepEqual(out.json, {
    cniVersion: "0.4.0",
    supportedVersions: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
  });
  assert.equal((await run("VERSION", "", agent.call)).json.cniVersion, "1.1.0");
  assert.equal(agent.requests.length, 0);
});

Deno.test("runCniPlugin() never contacts the agent for invalid input", async (t) => {
  // [name, command, stdin, env overrides, "<cniVersion> <code> <start of msg>"]
  const cases: Array<[string, CniCommand, unknown, Record<string, string>, string]> = [
    ["bad ifname", "ADD", conf, { CNI_IFNAME: "a/b" }, '1.0.0 4 Invalid CNI_IFNAME "a/b"'],
    ["unknown CNI_ARGS", "ADD", conf, { CNI_ARGS: "FOO=1" }, "1.0.0 4 Invalid CNI_ARGS: unknown"],
    ["bad command", "ADD", conf, { CNI_COMMAND: "UP" }, '1.0.0 4 Invalid CNI_COMMAND "UP"'],
    ["malformed JSON", "ADD", "{", {}, "1.1.0 6 Failed to decode the network configuration"],
    ["old version", "ADD", { ...conf, cniVersion: "0.2.0" }, {}, "0.2.0 1 Incompatible CNI"],
    [
      "bad mtu",
      "ADD",
      { ...conf, mtu: 1 },
      {},
      '1.0.0 7 Invalid network configuration field "mtu"',
    ],
    [
      "no prevResult",
      "CHECK",
      conf,
      {},
      '1.0.0 7 Invalid network configuration field "prevResult"',
    ],
    [
      "GC on 1.0.0",
      "GC",
      { ...gcConf, cniVersion: "1.0.0" },
      {},
      "1.0.0 1 Incompatible CNI version",
    ],
  ];
  for (const [name, command, stdin, env, want] of cases) {
    await t.step(name, async () => {
      const agent = fakeAgent(new Error("must not be called"));
      const out = await run(command, stdin, agent.call, env);
      assert.equal(out.exitCode, 1);
      const got = `${out.json.cniVersion} ${out.json.code} ${out.json.msg}`;
      assert.ok(got.startsWith(want), got);
      assert.equal(agent.requests.length, 0);
    });
  }
});

Deno.test("runCniPlugin() forwards ADD and prints the result in the config's version", async () => {
  const agent = fakeAgent({ status: 200, body: { result } });
  const out = await run("ADD", { ...conf, cniVersion: "0.4.0" }, agent.call);
  assert.equal(out.exitCode, 0, out.stdout);
  assert.deepEqual(out.json, {
    cniVersion: "0.4.0",
    ...result,
    ips: [{ version: "4", address: "10.0.0.5/32", gateway: "10.0.0.1", interface: 0 }],
  });
  assert.deepEqual(agent.requests, [{
    socket: SOCKET,
    request: {
      command: "ADD",
      containerId: "c1",
      netns: "/run/netns/p1",
      ifname: "eth0",
      args: { IgnoreUnknown: "1", K8S_POD_NAMESPACE: "shop", K8S_POD_NAME: "web-0" },
      config: { ...conf, cniVersion: "0.4.0" },
    },
  }]);
});

Deno.test("runCniPlugin() prints nothing for successful DEL, CHECK, GC and STATUS", async (t) => {
  const cases: Array<[CniCommand, unknown, boolean]> = [
    ["DEL", conf, true],
    ["CHECK", { ...conf, prevResult: { cniVersion: "1.0.0", ...result } }, true],
    ["GC", gcConf, false],
    ["STATUS", { ...conf, cniVersion: "1.1.0" }, false],
  ];
  for (const [command, stdin, perAttachment] of cases) {
    await t.step(command, async () => {
      const agent = fakeAgent({ status: 200, body: { result: null } });
      const out = await run(command, stdin, agent.call);
      assert.deepEqual([out.exitCode, out.stdout, out.stderr], [0, "", ""]);
      const req = agent.requests[0]!.request;
      assert.equal(req.command, command);
      assert.equal(req.containerId, perAttachment ? "c1" : "");
      assert.equal(req.ifname, perAttachment ? "eth0" : "");
      assert.deepEqual(req.config, stdin);
    });
  }
});

Deno.test("runCniPlugin() prints the agent's CNI error", async (t) => {
  const where = `The hypha agent at "${SOCKET}"`;
  const cniError = (code: number, msg: string, details?: string) => ({
    error: { code: "invalid", message: msg },
    cni: { code, msg, ...(details ? { details } : {}) },
  });
  // [name, answer, "<code> <msg>[ | <details>]"]
  const cases: Array<[string, AgentAnswer, string]> = [
    ["with details", { status: 409, body: cniError(7, "Exists", "eth0") }, "7 Exists | eth0"],
    ["without details", { status: 404, body: cniError(3, "Unknown") }, "3 Unknown"],
    [
      "503 without a CNI error",
      { status: 503, body: { error: { code: "unavailable", message: "Starting" } } },
      `11 ${where} answered HTTP 503 without a CNI error: Starting`,
    ],
    [
      "500 with text",
      { status: 500, body: "boom" },
      `6 ${where} answered HTTP 500 without a CNI error: "boom"`,
    ],
    [
      "ADD without a result",
      { status: 200, body: { result: null } },
      `6 ${where} returned no result for ADD`,
    ],
    [
      "ADD with a malformed result",
      { status: 200, body: { result: { ips: [{ address: "x" }] } } },
      `6 Invalid agent result field "ips[0].address": must be an address/prefix, got "x"`,
    ],
  ];
  for (const [name, answer, want] of cases) {
    await t.step(name, async () => {
      const out = await run("ADD", conf, fakeAgent(answer).call);
      assert.equal(out.exitCode, 1);
      const { cniVersion, code, msg, details, ...rest } = out.json;
      assert.deepEqual([cniVersion, rest], ["1.0.0", {}]);
      assert.equal(`${code} ${msg}${details === undefined ? "" : ` | ${details}`}`, want);
    });
  }
});

Deno.test("runCniPlugin() retries an unreachable agent for agentWaitSeconds, then answers per command", async (t) => {
  const cases: Array<[CniCommand, unknown, number | "ok"]> = [
    ["ADD", conf, 11],
    ["CHECK", { ...conf, prevResult: {} }, 11],
    ["GC", gcConf, 11],
    ["STATUS", { ...conf, cniVersion: "1.1.0" }, 50],
    ["DEL", conf, "ok"],
  ];
  for (const [command, stdin, want] of cases) {
    await t.step(command, async () => {
      const agent = fakeAgent(refused());
      const out = await run(command, stdin, agent.call);
      assert.equal(out.sleeps.reduce((a, b) => a + b, 0), 2000, "waits exactly agentWaitSeconds");
      assert.deepEqual(out.sleeps.slice(0, 6), [50, 100, 200, 400, 800, 450]);
      assert.equal(agent.requests.length, out.sleeps.length + 1);
      if (want === "ok") {
        assert.deepEqual([out.exitCode, out.stdout], [0, ""]);
        assert.equal(
          out.stderr,
          `hypha-cni: DEL of container "c1" ifname "eth0" reported as done: agent not reachable at ` +
            `"${SOCKET}": connection refused (waited 2s); the agent cleans up endpoints whose veth ` +
            `or netns are gone when it starts\n`,
        );
        return;
      }
      assert.equal(out.exitCode, 1);
      assert.equal(out.json.code, want);
      assert.equal(
        out.json.msg,
        `Agent not reachable at "${SOCKET}": connection refused (waited 2s)`,
      );
      assert.match(out.json.details, /^Is the hypha agent running on this node\?/);
    });
  }
});

Deno.test("runCniPlugin() succeeds once the agent comes up while it waits", async () => {
  const agent = fakeAgent(refused(), refused(), { status: 200, body: { result } });
  const out = await run("ADD", conf, agent.call);
  assert.equal(out.exitCode, 0, out.stdout);
  assert.deepEqual(out.sleeps, [50, 100]);
  assert.equal(out.json.ips[0].address, "10.0.0.5/32");
});

Deno.test("runCniPlugin() waits for an agent that is not ready for pods yet (ADD only)", async () => {
  const notReady: AgentAnswer = {
    status: 503,
    body: {
      error: { code: "unavailable", message: "The node is not ready for pods" },
      cni: {
        code: 103,
        msg: "The node is not ready for pods",
        details: "waiting for the etcd cluster store",
      },
    },
  };
  const ready = await run("ADD", conf, fakeAgent(notReady, { status: 200, body: { result } }).call);
  assert.equal(ready.exitCode, 0, ready.stdout);
  assert.deepEqual(ready.sleeps, [50]);

  const agent = fakeAgent(notReady);
  const never = await run("ADD", conf, agent.call);
  assert.equal(never.sleeps.reduce((a, b) => a + b, 0), 2000, "waits exactly agentWaitSeconds");
  assert.equal(agent.requests.length, never.sleeps.length + 1);
  assert.deepEqual([never.json.code, never.json.details], [
    103,
    "waiting for the etcd cluster store",
  ]);

  const del = fakeAgent(notReady);
  await run("DEL", conf, del.call);
  assert.equal(del.requests.length, 1, "DEL is answered as the agent said, at once");
});

Deno.test("runCniPlugin() tries once with agentWaitSeconds 0", async () => {
  const agent = fakeAgent(refused());
  const out = await run("ADD", { ...conf, agentWaitSeconds: 0 }, agent.call);
  assert.deepEqual([out.json.code, out.sleeps, agent.requests.length], [11, [], 1]);
});

Deno.test("runCniPlugin() does not retry a failure after connecting (code 5)", async () => {
  const agent = fakeAgent(new Error("connection reset"));
  const out = await run("ADD", conf, agent.call);
  assert.deepEqual(out.json, {
    cniVersion: "1.0.0",
    code: 5,
    msg: `Failed to talk to the hypha agent at "${SOCKET}": connection reset`,
  });
  assert.equal(agent.requests.length, 1);
});

Deno.test("runCniPlugin() uses the agent socket it finds when agentSocket is not set", async (t) => {
  const runDir = await Deno.makeTempDir({ prefix: "hypha-cni-run-" });
  const { agentSocket: _, ...noSocket } = { ...conf, agentWaitSeconds: 0.1 };
  const exec = (call: AgentCall) =>
    runCniPlugin({
      env: { ...attachment, CNI_COMMAND: "ADD" },
      stdin: JSON.stringify(noSocket),
      call,
      sleep: () => Promise.resolve(),
      runDir,
    }).then((out) => JSON.parse(out.stdout));
  try {
    await t.step("none: code 11 after waiting", async () => {
      assert.deepEqual(await exec(fakeAgent(new Error("must not be called")).call), {
        cniVersion: "1.0.0",
        code: 11,
        msg: `No agent socket found: nothing matches "${runDir}/*/api.sock" (waited 0.1s)`,
        details: `Is the hypha agent running on this node? Set "agentSocket" in the network ` +
          `configuration if its socket is elsewhere.`,
      });
    });
    await Deno.mkdir(join(runDir, "n1"));
    await Deno.writeTextFile(join(runDir, "n1/api.sock"), "");
    await t.step("one: it is called", async () => {
      const agent = fakeAgent({ status: 200, body: { result } });
      assert.equal((await exec(agent.call)).cniVersion, "1.0.0");
      assert.equal(agent.requests[0]!.socket, join(runDir, "n1/api.sock"));
    });
  } finally {
    await Deno.remove(runDir, { recursive: true });
  }
});

Deno.test("runCniPlugin() fails ADD and DEL with code 11 when the agent never answers", async (t) => {
  await using agent = await startSilentAgent();
  for (const command of ["ADD", "DEL"] as const) {
    await t.step(command, async () => {
      const out = await within(
        runCniPlugin({
          env: { ...attachment, CNI_COMMAND: command },
          stdin: JSON.stringify({ ...conf, agentSocket: agent.socket, agentTimeoutSeconds: 0.3 }),
          call: agentCallOverSocket,
        }),
        10_000,
      );
      assert.equal(out.exitCode, 1);
      assert.deepEqual(JSON.parse(out.stdout), {
        cniVersion: "1.0.0",
        code: 11,
        msg: `The hypha agent at "${agent.socket}" did not answer ${command} within 0.3 s`,
        details: `It accepted the connection but sent no answer in time: is it stuck? Raise ` +
          `"agentTimeoutSeconds" in the network configuration if it is only slow.`,
      });
    });
  }
  assert.equal(agent.accepted(), 2, "one call each, not retried");
});

Deno.test("runCniPlugin() gives each call agentTimeoutSeconds, and retries not-ready within agentWaitSeconds", async () => {
  const seen: number[] = [];
  const notReady: AgentAnswer = { status: 503, body: { cni: { code: 103, msg: "Not ready" } } };
  const call: AgentCall = (_socket, _request, timeoutMs) => {
    seen.push(timeoutMs);
    return Promise.resolve(seen.length < 3 ? notReady : { status: 200, body: { result } });
  };
  const out = await run("ADD", { ...conf, agentTimeoutSeconds: 7 }, call);
  assert.equal(out.exitCode, 0, out.stdout);
  assert.deepEqual(seen, [7000, 7000, 7000]);
  assert.deepEqual(out.sleeps, [50, 100]);
  const defaults: number[] = [];
  await run("DEL", conf, (_s, _r, ms) => (defaults.push(ms), Promise.resolve(notReady)));
  assert.deepEqual(defaults, [60_000], "the default deadline; DEL is not retried");
});
