import assert from "node:assert/strict";
import { join } from "node:path";
import { findAgentSocket } from "./agent_socket.ts";
import { CniError } from "./errors.ts";

Deno.test("findAgentSocket() returns the one <runDir>/<node>/api.sock", async (t) => {
  const runDir = await Deno.makeTempDir({ prefix: "hypha-cni-run-" });
  try {
    await t.step("no run directory: none", async () => {
      assert.equal(await findAgentSocket(join(runDir, "missing")), undefined);
    });
    await Deno.mkdir(join(runDir, "n1"));
    await Deno.mkdir(join(runDir, "no-agent"));
    await t.step("a node directory without a socket: none", async () => {
      assert.equal(await findAgentSocket(runDir), undefined);
    });
    await Deno.writeTextFile(join(runDir, "n1/api.sock"), "");
    await t.step("one socket: it", async () => {
      assert.equal(await findAgentSocket(runDir), join(runDir, "n1/api.sock"));
    });
    await Deno.mkdir(join(runDir, "n2"));
    await Deno.writeTextFile(join(runDir, "n2/api.sock"), "");
    await t.step("several sockets: code 7 listing them", async () => {
      await assert.rejects(findAgentSocket(runDir), (e: unknown) => {
        assert.ok(e instanceof CniError);
        assert.equal(e.code, 7);
        assert.equal(
          e.msg,
          `Several agents found: "${runDir}/n1/api.sock", "${runDir}/n2/api.sock"`,
        );
        assert.match(e.details!, /^Set "agentSocket" in the network configuration/);
        return true;
      });
    });
  } finally {
    await Deno.remove(runDir, { recursive: true });
  }
});
