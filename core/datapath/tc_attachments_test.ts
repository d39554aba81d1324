import assert from "node:assert/strict";
import { BpfObject, linkWriteCount, type TcMode, withNetns } from "../bpf/mod.ts";
import { fixturePath, tempBpffs, tempNetns } from "../bpf/_testing.ts";
import { TcAttachments } from "./tc_attachments.ts";

function load(name: string): BpfObject {
  const obj = BpfObject.open(fixturePath(name));
  obj.load();
  return obj;
}

for (const mode of ["tcx", "tc"] as const satisfies readonly TcMode[]) {
  Deno.test(`TcAttachments (${mode}) adopts, replaces and detaches across agent restarts`, async (t) => {
    await using ns = await tempNetns();
    await using fs = await tempBpffs();
    const stateDir = await Deno.makeTempDir();
    const dirs = { pinDir: fs.path, stateDir };
    const inNs = <T>(fn: () => T) => withNetns(ns.path, fn);
    try {
      await t.step("first start attaches ingress and egress", () => {
        using obj = load("fixture");
        const prog = obj.program("fixture_tc");
        const r = inNs(() =>
          new TcAttachments(dirs, mode).reconcile([
            { ifname: "a0", direction: "ingress", program: prog },
            { ifname: "a0", direction: "egress", program: prog },
          ])
        );
        assert.deepEqual(r, { attached: 2, replaced: 0, unchanged: 0, detached: 0, errors: [] });
      });
      await t.step("a restart with the same program writes nothing", () => {
        using obj = load("fixture"); // a new kernel program with the same tag
        const prog = obj.program("fixture_tc");
        const before = linkWriteCount();
        const manager = new TcAttachments(dirs, mode);
        const r = inNs(() =>
          manager.reconcile([
            { ifname: "a0", direction: "ingress", program: prog },
            { ifname: "a0", direction: "egress", program: prog },
          ])
        );
        assert.equal(r.unchanged, 2);
        assert.equal(linkWriteCount() - before, 0);
        const listed = inNs(() => manager.list());
        assert.deepEqual(listed.map((a) => [a.ifname, a.direction, a.kind, a.program]).sort(), [
          ["a0", "egress", mode, "fixture_tc"],
          ["a0", "ingress", mode, "fixture_tc"],
        ]);
      });
      await t.step("an upgraded program replaces the old one in place", () => {
        using obj = load("fixture_resized");
        const prog = obj.program("fixture_resized_tc");
        const r = inNs(() =>
          new TcAttachments(dirs, mode).reconcile([
            { ifname: "a0", direction: "ingress", program: prog },
          ])
        );
        assert.equal(r.replaced, 1);
        assert.equal(r.detached, 1, "egress is no longer wanted");
        const listed = inNs(() => new TcAttachments(dirs, mode).list());
        // the kernel keeps 15 characters of a program name
        assert.deepEqual(listed.map((a) => a.program), ["fixture_resized"]);
      });
      await t.step("an unknown interface is reported, not thrown", () => {
        using obj = load("fixture");
        const r = inNs(() =>
          new TcAttachments(dirs, mode).reconcile([
            { ifname: "nope0", direction: "ingress", program: obj.program("fixture_tc") },
            { ifname: "a0", direction: "ingress", program: obj.program("fixture_tc") },
          ])
        );
        assert.equal(r.errors.length, 1);
        assert.match(r.errors[0]!.message, /"nope0".*no such interface/);
        assert.equal(r.replaced, 1);
      });
      await t.step("detachAll() removes everything", () => {
        const n = inNs(() => new TcAttachments(dirs, mode).detachAll());
        assert.equal(n, 1);
        assert.deepEqual(inNs(() => new TcAttachments(dirs, mode).list()), []);
      });
    } finally {
      await Deno.remove(stateDir, { recursive: true });
    }
  });
}
