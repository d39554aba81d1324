// IpAllocator.snapshot() and restore(): the persisted form and its validation.
import assert from "node:assert/strict";
import { parseCidr } from "./cidr.ts";
import { IpamError } from "./errors.ts";
import { parseIp } from "./ip.ts";
import { IpAllocator } from "./ip_allocator.ts";

const alloc = (cidr: string, reserved: string[] = []) =>
  new IpAllocator(parseCidr(cidr), { reserved: reserved.map(parseIp) });

Deno.test("IpAllocator.snapshot() is plain JSON of the allocations, lowest address first", async (t) => {
  await t.step("IPv4", () => {
    const a = alloc("10.0.0.0/24");
    a.allocateSpecific(parseIp("10.0.0.200"), "b");
    a.allocate("a");
    a.allocate("c");
    assert.deepEqual(a.snapshot(), {
      cidr: "10.0.0.0/24",
      allocations: { "10.0.0.2": "a", "10.0.0.3": "c", "10.0.0.200": "b" },
    });
    assert.equal(
      JSON.stringify(a.snapshot()),
      '{"cidr":"10.0.0.0/24","allocations":{"10.0.0.2":"a","10.0.0.3":"c","10.0.0.200":"b"}}',
    );
  });
  await t.step("IPv6 uses canonical text", () => {
    const a = alloc("fd00:10:244:1::/64");
    a.allocateSpecific(parseIp("FD00:10:244:1:0:0:0:A"), "x");
    assert.deepEqual(a.snapshot(), {
      cidr: "fd00:10:244:1::/64",
      allocations: { "fd00:10:244:1::a": "x" },
    });
  });
  await t.step("empty", () => {
    assert.deepEqual(alloc("10.0.0.0/30").snapshot(), { cidr: "10.0.0.0/30", allocations: {} });
  });
});

Deno.test("IpAllocator.restore() brings back a snapshot after a restart", async (t) => {
  const before = alloc("10.0.0.0/24");
  for (const owner of ["a", "b", "c", "d"]) before.allocate(owner);
  before.release(parseIp("10.0.0.3"));
  const saved = JSON.parse(JSON.stringify(before.snapshot()));

  const after = alloc("10.0.0.0/24");
  after.allocate("stale");
  after.restore(saved);
  await t.step("same allocations, owners and counts", () => {
    assert.deepEqual(after.snapshot(), before.snapshot());
    assert.equal(after.owner(parseIp("10.0.0.5")), "d");
    assert.deepEqual(after.addressesOf("stale"), []);
    assert.equal(after.used, 3);
    assert.equal(after.available, 250n);
  });
  await t.step("allocation resumes after the highest restored address", () => {
    assert.equal(after.allocate("e").toString(), "10.0.0.6");
  });
  await t.step("an empty snapshot clears everything and restarts at the first address", () => {
    after.restore({ cidr: "10.0.0.0/24", allocations: {} });
    assert.equal(after.used, 0);
    assert.equal(after.allocate("f").toString(), "10.0.0.2");
  });
  await t.step("the snapshot's cidr may be written differently", () => {
    const v6 = alloc("fd00::/120");
    v6.restore({ cidr: "FD00:0::0/120", allocations: { "fd00:0::0a": "x" } });
    assert.equal(v6.owner(parseIp("fd00::a")), "x");
  });
});

Deno.test("IpAllocator.restore() rejects bad snapshots naming the entry and reason", async (t) => {
  const cases: Array<[string, unknown, string]> = [
    ["null", null, "Invalid IPAM snapshot: expected an object {cidr, allocations}, got null"],
    [
      "a string",
      "x",
      'Invalid IPAM snapshot: expected an object {cidr, allocations}, got "x"',
    ],
    ["no cidr", { allocations: {} }, 'Invalid IPAM snapshot: "cidr" must be a string'],
    [
      "no allocations",
      { cidr: "10.0.0.0/24" },
      'Invalid IPAM snapshot: "allocations" must be an object of address -> owner',
    ],
    [
      "allocations as an array",
      { cidr: "10.0.0.0/24", allocations: [] },
      'Invalid IPAM snapshot: "allocations" must be an object of address -> owner',
    ],
    [
      "unparseable cidr",
      { cidr: "10.0.0.0/33", allocations: {} },
      'Invalid IPAM snapshot: cidr "10.0.0.0/33" is not a CIDR: prefix length must be 0-32 for IPv4',
    ],
    [
      "another cidr",
      { cidr: "10.0.1.0/24", allocations: {} },
      'Invalid IPAM snapshot: cidr "10.0.1.0/24" does not match this allocator\'s "10.0.0.0/24"',
    ],
    [
      "another prefix length",
      { cidr: "10.0.0.0/25", allocations: {} },
      'Invalid IPAM snapshot: cidr "10.0.0.0/25" does not match this allocator\'s "10.0.0.0/24"',
    ],
  ];
  const entries: Array<[string, unknown, string]> = [
    ["10.0.1.5", "a", 'outside "10.0.0.0/24"'],
    ["fd00::5", "a", 'outside "10.0.0.0/24"'],
    ["10.0.0.0", "a", "it is the network address"],
    ["10.0.0.1", "a", "it is the router address"],
    ["10.0.0.255", "a", "it is the broadcast address"],
    ["10.0.0.53", "a", "it is reserved"],
    ["10.0.0.256", "a", 'octet "256" is out of range 0-255'],
    ["10.0.0.05", "a", 'octet "05" has a leading zero (ambiguous: octal to some parsers)'],
    ["10.0.0.0/24", "a", "unexpected prefix length (use parseCidr for CIDRs)"],
    ["10.0.0.5", "", 'owner "" must be a non-empty string'],
    ["10.0.0.5", 7, "owner 7 must be a non-empty string"],
    ["10.0.0.5", null, "owner null must be a non-empty string"],
  ];
  for (const [text, owner, reason] of entries) {
    cases.push([
      `entry ${text} -> ${JSON.stringify(owner)}`,
      { cidr: "10.0.0.0/24", allocations: { "10.0.0.7": "ok", [text]: owner } },
      `Invalid IPAM snapshot entry ${JSON.stringify(text)}: ${reason}`,
    ]);
  }
  for (const [name, snapshot, message] of cases) {
    await t.step(name, () => {
      const a = alloc("10.0.0.0/24", ["10.0.0.53"]);
      a.allocate("keep");
      assert.throws(() => a.restore(snapshot), (e) => {
        assert.ok(e instanceof IpamError);
        assert.equal(e.message, message);
        return true;
      });
      assert.deepEqual(a.snapshot().allocations, { "10.0.0.2": "keep" }, "state is unchanged");
    });
  }
  await t.step("the same IPv6 address written twice", () => {
    const a = alloc("fd00::/64");
    assert.throws(
      () => a.restore({ cidr: "fd00::/64", allocations: { "fd00::5": "a", "fd00:0::5": "b" } }),
      {
        name: "IpamError",
        message: 'Invalid IPAM snapshot entry "fd00:0::5": the same address appears twice',
      },
    );
  });
});
