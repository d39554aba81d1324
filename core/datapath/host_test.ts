import assert from "node:assert/strict";
import { join } from "node:path";
import { ifIndex, linkWriteCount, mapWriteCount, withNetns } from "../bpf/mod.ts";
import { tempBpffs, tempNetns } from "../bpf/_testing.ts";
import { HostDatapath } from "./host.ts";

Deno.test("HostDatapath counts real traffic and a reload adopts it without writing", async (t) => {
  await using ns = await tempNetns();
  await using fs = await tempBpffs();
  const stateDir = await Deno.makeTempDir();
  const dirs = { pinDir: join(fs.path, "n1"), mapsDir: join(fs.path, "n1/maps"), stateDir };
  const device = { name: "a0", ifindex: withNetns(ns.path, () => ifIndex("a0")) };
  try {
    await t.step("first load attaches and counts both directions", async () => {
      using dp = HostDatapath.load(dirs, "auto");
      const r = withNetns(ns.path, () => dp.reconcile([device], true));
      assert.equal(r.devices.added, 1);
      assert.equal(r.attachments.attached, 2);
      await ns.ping(3);
      const rows = dp.counters();
      const ingress = rows.find((c) => c.direction === "ingress")!;
      const egress = rows.find((c) => c.direction === "egress")!;
      assert.equal(ingress.ifname, "a0");
      assert.ok(ingress.packets >= 3, `ingress packets ${ingress.packets}`);
      assert.ok(egress.packets >= 3, `egress packets ${egress.packets}`);
      // 3 echo requests of 98 bytes on the wire, plus ARP
      assert.ok(ingress.bytes >= 3 * 98, `ingress bytes ${ingress.bytes}`);
    });
    let before = 0;
    await t.step("a reload (agent restart) reuses maps and writes nothing", () => {
      const mapWrites = mapWriteCount();
      const linkWrites = linkWriteCount();
      using dp = HostDatapath.load(dirs, "auto");
      const r = withNetns(ns.path, () => dp.reconcile([device], true));
      assert.equal(r.devices.unchanged, 1);
      assert.equal(r.attachments.unchanged, 2);
      assert.equal(mapWriteCount() - mapWrites, 0, "map writes on an unchanged restart");
      assert.equal(linkWriteCount() - linkWrites, 0, "link writes on an unchanged restart");
      before = dp.counters().find((c) => c.direction === "ingress")!.packets;
      assert.ok(before >= 3, "counters survived the reload");
    });
    await t.step("traffic keeps being counted while no agent holds the datapath", async () => {
      await ns.ping(2);
      using dp = HostDatapath.load(dirs, "auto");
      const now = dp.counters().find((c) => c.direction === "ingress")!.packets;
      assert.ok(now >= before + 2, `${now} >= ${before} + 2`);
    });
    await t.step("switching counting off is one device-table write", () => {
      using dp = HostDatapath.load(dirs, "auto");
      const r = withNetns(ns.path, () => dp.reconcile([device], false));
      assert.equal(r.devices.updated, 1);
      assert.equal(r.attachments.unchanged, 2);
    });
    await t.step("the maps are listed with their pins and dump as JSON", () => {
      using dp = HostDatapath.load(dirs, "auto");
      const maps = dp.ownedMaps();
      assert.deepEqual(maps.map((m) => m.name), [
        "hypha_devices",
        "hypha_ifcounters",
        "hypha_ifdrops",
        "hypha_hooks",
        "hypha_traffic",
        "hypha_config",
        "hypha_endpoints",
        "hypha_ipcache",
        "hypha_ct",
        "hypha_snat",
        "hypha_policy",
        "hypha_event_stats",
      ]);
      const devices = maps[0]!;
      assert.equal(devices.count(), 1);
      assert.deepEqual(devices.dump(10), [{
        key: device.ifindex,
        value: { flags: 0, mtu: 0, mac: "000000000000" },
      }]);
    });
    await t.step("cleanup detaches everything and removes the pins", async () => {
      const removed = withNetns(ns.path, () => HostDatapath.cleanup(dirs));
      assert.deepEqual(removed, ["2 tc attachment(s)", dirs.pinDir]);
      await assert.rejects(Deno.stat(dirs.pinDir), Deno.errors.NotFound);
    });
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});
