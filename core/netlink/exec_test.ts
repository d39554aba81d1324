import assert from "node:assert/strict";
import { ipBatch, NetlinkError } from "./exec.ts";

/** Open file descriptors of this process: a child that is never awaited keeps its pipes open. */
const openFds = () => [...Deno.readDirSync("/proc/self/fd")].length;

Deno.test("ipBatch() names the failing line", async (t) => {
  await t.step("a good batch succeeds", async () => {
    await ipBatch(["link show dev lo", "addr show dev lo"]);
  });
  await t.step("the second of three lines fails", async () => {
    await assert.rejects(
      ipBatch(["link show dev lo", "frobnicate", "link show dev lo"]),
      /^NetlinkError: ip "frobnicate": Object "frobnicate" is unknown/,
    );
  });
});

// ip -batch stops at the first failing line and exits, and nsenter exits when it cannot enter
// the namespace: the rest of the input can no longer be written (EPIPE). The child must still
// be awaited (its pipes closed) and its own error reported.
Deno.test("ipBatch() reaps the child and reports its error when the input cannot be written", async (t) => {
  // 64 KiB is the pipe buffer: this much input cannot all be written once the reader is gone
  const lines = ["frobnicate all the things", ...Array(20_000).fill("link show dev lo")];
  const before = openFds();
  await t.step("ip exits at line 1", async () => {
    for (let i = 0; i < 5; i++) {
      await assert.rejects(ipBatch(lines), (e: unknown) => {
        assert.ok(e instanceof NetlinkError, String(e));
        assert.match(e.message, /^ip "frobnicate all the things": Object "frobnicate" is unknown/);
        return true;
      });
    }
  });
  await t.step("nsenter cannot enter the namespace", async () => {
    await assert.rejects(ipBatch(lines, { netns: "/nonexistent/netns" }), (e: unknown) => {
      assert.ok(e instanceof NetlinkError, String(e));
      assert.match(e.message, /^ip batch in \/nonexistent\/netns: nsenter: .*\/nonexistent\/netns/);
      return true;
    });
  });
  assert.equal(openFds(), before, "no pipe of a child is left open");
});
