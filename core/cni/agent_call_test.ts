import assert from "node:assert/strict";
import { join } from "node:path";
import { agentCallOverSocket } from "./agent_call.ts";
import { startFakeAgent, startSilentAgent, within } from "./_fake_agent.ts";
import { AgentTimeoutError, AgentUnreachableError, type CniRequest } from "./protocol.ts";

const request: CniRequest = {
  command: "ADD",
  containerId: "c1",
  netns: "/run/netns/p1",
  ifname: "eth0",
  args: {},
  config: { cniVersion: "1.0.0", name: "podnet", type: "hypha" },
};

Deno.test("agentCallOverSocket() posts the request and returns status and JSON body", async () => {
  await using agent = await startFakeAgent((req) => ({
    status: req.command === "ADD" ? 200 : 400,
    body: { result: { ips: [] } },
  }));
  const answer = await agentCallOverSocket(agent.socket, request, 5000);
  assert.deepEqual(answer, { status: 200, body: { result: { ips: [] } } });
  assert.deepEqual(agent.requests, [request]);
});

Deno.test("agentCallOverSocket() throws AgentUnreachableError when nobody listens", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "hypha-cni-" });
  try {
    await t.step("no such socket", async () => {
      const socket = join(dir, "missing.sock");
      await assert.rejects(agentCallOverSocket(socket, request, 5000), (e: unknown) => {
        assert.ok(e instanceof AgentUnreachableError);
        assert.equal(e.reason, "no such socket");
        assert.equal(e.message, `Agent not reachable at "${socket}": no such socket`);
        return true;
      });
    });
    await t.step("connection refused", async () => {
      const socket = join(dir, "not-a-socket");
      await Deno.writeTextFile(socket, "");
      await assert.rejects(
        agentCallOverSocket(socket, request, 5000),
        (e: unknown) => e instanceof AgentUnreachableError && e.reason === "connection refused",
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("agentCallOverSocket() gives up on an agent that never answers", async (t) => {
  for (const headersOnly of [false, true]) {
    const what = headersOnly ? "sends headers, then no body" : "accepts and sends nothing";
    await t.step(`an agent that ${what}: AgentTimeoutError after the deadline`, async () => {
      await using agent = await startSilentAgent({ headersOnly });
      await assert.rejects(
        within(agentCallOverSocket(agent.socket, request, 300), 10_000),
        (e: unknown) => {
          assert.ok(e instanceof AgentTimeoutError, String(e));
          assert.equal(e.message, `Agent at "${agent.socket}" did not answer within 0.3 s`);
          return true;
        },
      );
      assert.equal(agent.accepted(), 1, "the connection was accepted");
    });
  }
});
