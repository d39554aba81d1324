import assert from "node:assert/strict";
import {
  BpfObject,
  findTcFilter,
  ifIndex,
  linkWriteCount,
  type TcMode,
  withNetns,
} from "../bpf/mod.ts";
import { fixturePath, tempBpffs, tempNetns } from "../bpf/_testing.ts";
import { damagedStateFiles } from "../state_files/mod.ts";
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

Deno.test("TcAttachments rebuilds a damaged clsact record from the kernel and reports it", async () => {
  await using ns = await tempNetns();
  const stateDir = await Deno.makeTempDir();
  const file = `${stateDir}/tc_filters.json`;
  await using fs = await tempBpffs();
  const dirs = { pinDir: fs.path, stateDir };
  const inNs = <T>(fn: () => T) => withNetns(ns.path, fn);
  try {
    using obj = load("fixture");
    const prog = obj.program("fixture_tc");
    const both = [
      { ifname: "a0", direction: "ingress" as const, program: prog },
      { ifname: "a0", direction: "egress" as const, program: prog },
    ];
    inNs(() => new TcAttachments(dirs, "tc", "tc", "fixture_").reconcile(both));
    assert.deepEqual(JSON.parse(await Deno.readTextFile(file)), [["a0", "ingress"], [
      "a0",
      "egress",
    ]]);
    await Deno.writeTextFile(file, '[["a0","ingr'); // a torn write
    // Only ingress is still wanted: egress must be found in the kernel and detached.
    const r = inNs(() =>
      new TcAttachments(dirs, "tc", "tc", "fixture_").reconcile(both.slice(0, 1))
    );
    assert.equal(r.unchanged, 1);
    assert.equal(r.detached, 1);
    assert.equal(inNs(() => findTcFilter(ifIndex("a0"), "egress")), undefined);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(file)), [["a0", "ingress"]]);
    const [report] = damagedStateFiles.under(stateDir);
    assert.match(report!.problem, /not valid JSON/);
    assert.match(report!.recovery, /rebuilt from the kernel: 2 filter\(s\) running fixture_\*/);
    inNs(() => new TcAttachments(dirs, "tc", "tc", "fixture_").detachAll());
  } finally {
    damagedStateFiles.forget(stateDir);
    await Deno.remove(stateDir, { recursive: true });
  }
});
