import assert from "node:assert/strict";
import { join } from "node:path";
import { none, perCpu, u32, u64 } from "./codec.ts";
import {
  attachCgroup,
  attachTc,
  attachXdp,
  BpfLink,
  findTcFilter,
  ifIndex,
  interfaceNames,
} from "./link.ts";
import { type BpfMap, possibleCpus } from "./map.ts";
import { withNetns } from "./netns.ts";
import { BpfObject } from "./object.ts";
import { cgroupV2Mount } from "./probe.ts";
import { RingBuffer } from "./ringbuf.ts";
import { testRun } from "./test_run.ts";
import { fixturePath, run, tempBpffs, tempNetns } from "./_testing.ts";

const sum = (m: BpfMap<number, bigint[]>, slot: number) =>
  (m.lookup(slot) ?? []).reduce((a, b) => a + b, 0n);

function loadFixture() {
  const obj = BpfObject.open(fixturePath("fixture"));
  obj.load();
  const counts = obj.map("fixture_percpu", u32, perCpu(u64, possibleCpus()));
  return { obj, counts };
}

async function bpftoolNet(ns: string): Promise<string> {
  return await run("ip", "netns", "exec", ns, "bpftool", "net", "show", "dev", "a0");
}

/** Pings and returns how many packets slot `slot` counted meanwhile. */
async function countedDuring(
  ns: { ping(n: number): Promise<void> },
  counts: BpfMap<number, bigint[]>,
  slot: number,
  pings: number,
): Promise<bigint> {
  const before = sum(counts, slot);
  await ns.ping(pings);
  return sum(counts, slot) - before;
}

Deno.test("attachTc() counts real packets through tcx, and a pinned link outlives its fd", async () => {
  await using ns = await tempNetns();
  await using fs = await tempBpffs();
  const { obj, counts } = loadFixture();
  using _obj = obj;
  using _counts = counts;
  const prog = obj.program("fixture_tc");
  const pin = join(fs.path, "link_a0_ingress");
  withNetns(ns.path, () => {
    const link = attachTc(prog, ifIndex("a0"), "ingress", { mode: "tcx" });
    assert.equal(link.kind, "tcx");
    link.pin(pin);
    link.close(); // pinned: stays attached
  });
  assert.ok((await countedDuring(ns, counts, 0, 3)) >= 3n, "packets counted while pinned");
  using reopened = BpfLink.openPinned(pin);
  const info = reopened.info();
  assert.equal(info.kind, "tcx");
  assert.equal(info.direction, "ingress");
  assert.equal(info.ifindex, withNetns(ns.path, () => ifIndex("a0")));
  reopened.detach();
  assert.equal(await countedDuring(ns, counts, 0, 2), 0n, "nothing counted after detach");
});

Deno.test("attachTc() in clsact mode installs a filter that can be found again", async () => {
  await using ns = await tempNetns();
  const { obj, counts } = loadFixture();
  using _obj = obj;
  using _counts = counts;
  withNetns(ns.path, () => {
    using link = attachTc(obj.program("fixture_tc"), ifIndex("a0"), "egress", { mode: "tc" });
    assert.equal(link.kind, "tc");
  });
  assert.ok((await countedDuring(ns, counts, 0, 2)) >= 2n);
  withNetns(ns.path, () => {
    const found = findTcFilter(ifIndex("a0"), "egress");
    assert.ok(found, "filter found after the handle was closed");
    assert.ok(found.info().progId > 0);
    found.detach();
    assert.equal(findTcFilter(ifIndex("a0"), "egress"), undefined);
  });
});

Deno.test("interfaceNames() lists the interfaces of the calling thread's namespace", async () => {
  await using ns = await tempNetns();
  assert.deepEqual(withNetns(ns.path, () => interfaceNames()).sort(), ["a0", "lo"]);
});

Deno.test("RingBuffer delivers one event per packet from a tc program", async () => {
  await using ns = await tempNetns();
  const { obj, counts } = loadFixture();
  using _obj = obj;
  using _counts = counts;
  using events = obj.map("fixture_events", none, none);
  const seen: Uint8Array[] = [];
  await using rb = new RingBuffer(events, (data) => seen.push(data));
  const index = withNetns(ns.path, () => ifIndex("a0"));
  using _link = withNetns(ns.path, () => attachTc(obj.program("fixture_tc"), index, "ingress"));
  await ns.ping(2);
  for (let i = 0; i < 20 && seen.length < 2; i++) await rb.poll(100);
  assert.ok(seen.length >= 2, `got ${seen.length} events`);
  const first = new DataView(seen[0]!.buffer);
  assert.ok(first.getUint32(0, true) >= 42, "packet length recorded");
  assert.equal(first.getUint32(4, true), index);
});

Deno.test("RingBuffer.consume(max) delivers at most max records and loses none", async () => {
  const { obj, counts } = loadFixture();
  using _obj = obj;
  using _counts = counts;
  using events = obj.map("fixture_events", none, none);
  const seqs: number[] = [];
  await using rb = new RingBuffer(events, (data) => {
    seqs.push(new DataView(data.buffer, data.byteOffset).getUint32(12, true));
  }, { reuse: true });
  const packet = new Uint8Array(64);
  packet.set([0x08, 0x00], 12); // an Ethernet frame the program only counts
  testRun(obj.program("fixture_tc"), { data: packet, repeat: 10 });
  assert.equal(rb.consume(3), 3);
  assert.equal(rb.consume(3), 3);
  assert.equal(rb.consume(), 4);
  assert.equal(rb.consume(5), 0);
  assert.deepEqual(seqs, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
});

Deno.test("attachXdp() runs a generic XDP program on a veth", async () => {
  await using ns = await tempNetns();
  const { obj, counts } = loadFixture();
  using _obj = obj;
  using _counts = counts;
  const link = withNetns(ns.path, () => attachXdp(obj.program("fixture_xdp"), ifIndex("a0")));
  try {
    assert.match(await bpftoolNet(ns.name), /xdp/);
    assert.ok((await countedDuring(ns, counts, 1, 2)) >= 2n);
  } finally {
    link.detach();
  }
});

Deno.test("attachCgroup() hooks connect4 in a private cgroup subtree only", async () => {
  const root = cgroupV2Mount();
  assert.ok(root, "cgroup v2 is mounted");
  const cg = join(root, `hypha-test-${crypto.randomUUID().slice(0, 8)}`);
  await Deno.mkdir(cg);
  const { obj, counts } = loadFixture();
  using _obj = obj;
  using _counts = counts;
  try {
    using link = attachCgroup(obj.program("fixture_connect4"), cg, "connect4");
    assert.equal(link.info().kind, "cgroup");
    // A process in the subtree connects (to loopback, refused) -> the hook ran once.
    const script = `echo $$ > ${cg}/cgroup.procs; exec 3<>/dev/tcp/127.0.0.1/1 || true`;
    await new Deno.Command("bash", { args: ["-c", script], stderr: "null" }).output();
    assert.equal(sum(counts, 2), 1n);
    await new Deno.Command("bash", { args: ["-c", "exec 3<>/dev/tcp/127.0.0.1/1"], stderr: "null" })
      .output();
    assert.equal(sum(counts, 2), 1n, "processes outside the subtree are not hooked");
  } finally {
    await Deno.remove(cg).catch(() => {});
  }
});
