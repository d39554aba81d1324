import assert from "node:assert/strict";
import { join } from "node:path";
import { tempBpffs } from "../bpf/_testing.ts";
import type { CtKey } from "../bpf/generated/host.ts";
import { bootTimeNs } from "../bpf/mod.ts";
import { collectExpired } from "./ct_gc.ts";
import { HostDatapath } from "./host.ts";

const key = (a: number, b: number, sport: number, dport: number, dir: number): CtKey => ({
  saddr: [a, 0, 0, 0],
  daddr: [b, 0, 0, 0],
  sport,
  dport,
  proto: 6,
  family: 4,
  dir,
});
const ct = (expires: bigint) => ({
  expires,
  tx_packets: 1n,
  tx_bytes: 60n,
  rx_packets: 0n,
  rx_bytes: 0n,
  src_identity: 300,
  flags: 0,
  tcp_flags: 2,
  last_report: 0n,
});

Deno.test("collectExpired() deletes expired conntrack entries and NAT pairs, keeps live ones", async () => {
  await using fs = await tempBpffs();
  const stateDir = await Deno.makeTempDir();
  const dirs = { pinDir: join(fs.path, "n1"), mapsDir: join(fs.path, "n1/maps"), stateDir };
  try {
    using dp = HostDatapath.load(dirs, "auto");
    const { ct: ctMap, snat } = dp.clusterMaps;
    const now = 1_000_000_000_000n;
    ctMap.update(key(1, 2, 1000, 80, 0), ct(now - 1n));
    ctMap.update(key(1, 3, 1001, 80, 0), ct(now + 5n));
    // a NAT pair with both halves expired, and one whose reply half is still alive
    const pod = 0x0a00010a, remote = 0x0a6433c6, node = 0x0b00a8c0;
    const pair = (sport: number, natPort: number, fwd: bigint, rev: bigint) => {
      snat.update(key(pod, remote, sport, 80, 0), {
        to_addr: [node, 0, 0, 0],
        to_port: natPort,
        flags: 0,
        expires: fwd,
      });
      snat.update(key(remote, node, 80, natPort, 1), {
        to_addr: [pod, 0, 0, 0],
        to_port: sport,
        flags: 0,
        expires: rev,
      });
    };
    pair(2000, 61000, now - 1n, now - 1n);
    pair(2001, 61001, now - 1n, now + 9n);
    const r = collectExpired(ctMap, snat, now);
    assert.deepEqual(r.conntrack, { scanned: 2, deleted: 1 });
    assert.deepEqual(r.nat, { scanned: 4, deleted: 2 });
    assert.equal(ctMap.count(), 1);
    assert.equal(snat.count(), 2, "the half-alive pair stays whole");
    assert.ok(bootTimeNs() > 0n);
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});
