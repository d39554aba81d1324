import assert from "node:assert/strict";
import { parseCidr } from "./cidr.ts";
import { IpamConflictError, IpamError, IpamExhaustedError } from "./errors.ts";
import { parseIp } from "./ip.ts";
import { IpAllocator } from "./ip_allocator.ts";

const ip = parseIp;
const alloc = (cidr: string, reserved: string[] = []) =>
  new IpAllocator(parseCidr(cidr), { reserved: reserved.map(parseIp) });
const fill = (a: IpAllocator, n: number, owner = "pod") =>
  Array.from({ length: n }, (_, i) => a.allocate(`${owner}-${i}`).toString());

Deno.test("new IpAllocator() exposes the router and counts allocatable addresses", async (t) => {
  const cases: Array<[string, string[], string, bigint]> = [
    ["10.0.0.0/24", [], "10.0.0.1", 253n],
    ["10.0.0.0/30", [], "10.0.0.1", 1n],
    ["10.0.0.0/16", [], "10.0.0.1", 65533n],
    ["10.0.0.0/24", ["10.0.0.10", "10.0.0.10", "10.0.0.1", "10.0.0.255"], "10.0.0.1", 252n],
    ["fd00::/64", [], "fd00::1", (1n << 64n) - 2n],
    ["fd00::/126", [], "fd00::1", 2n],
    ["fd00::/120", ["fd00::ff"], "fd00::1", 253n],
  ];
  for (const [cidr, reserved, router, capacity] of cases) {
    await t.step(`${cidr} reserving [${reserved}]`, () => {
      const a = alloc(cidr, reserved);
      assert.equal(a.router.toString(), router);
      assert.equal(a.capacity, capacity);
      assert.equal(a.available, capacity);
      assert.equal(a.used, 0);
    });
  }
});

Deno.test("new IpAllocator() rejects CIDRs with no pod address and reserved addresses outside", async (t) => {
  const cases: Array<[string, string[], string]> = [
    [
      "10.0.0.0/31",
      [],
      'Invalid pod CIDR "10.0.0.0/31": prefix length must be at most 30 for IPv4 to leave an ' +
      "address after the network, router and broadcast addresses",
    ],
    ["10.0.0.1/32", [], 'Invalid pod CIDR "10.0.0.1/32": prefix length must be at most 30'],
    [
      "fd00::/127",
      [],
      'Invalid pod CIDR "fd00::/127": prefix length must be at most 126 for IPv6 to leave an ' +
      "address after the network and router addresses",
    ],
    ["::1/128", [], 'Invalid pod CIDR "::1/128": prefix length must be at most 126'],
    ["10.0.0.0/24", ["10.0.1.1"], 'Invalid reserved address "10.0.1.1": outside "10.0.0.0/24"'],
    ["10.0.0.0/24", ["::ffff:10.0.0.9"], 'Invalid reserved address "::ffff:10.0.0.9": outside'],
  ];
  for (const [cidr, reserved, message] of cases) {
    await t.step(`${cidr} reserving [${reserved}]`, () => {
      assert.throws(
        () => alloc(cidr, reserved),
        (e) => e instanceof IpamError && e.message.startsWith(message),
      );
    });
  }
});

Deno.test("IpAllocator.allocate() skips the network, router and broadcast addresses", async (t) => {
  await t.step("IPv4 /29", () => {
    const a = alloc("10.0.0.0/29");
    assert.deepEqual(fill(a, 5), ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]);
    assert.throws(() => a.allocate("x"), IpamExhaustedError);
  });
  await t.step("IPv4 /30 has exactly one pod address", () => {
    const a = alloc("192.168.7.4/30");
    assert.equal(a.allocate("x").toString(), "192.168.7.6");
    assert.equal(a.available, 0n);
  });
  await t.step("IPv6 has no broadcast: the last address is handed out", () => {
    const a = alloc("fd00::/126");
    assert.deepEqual(fill(a, 2), ["fd00::2", "fd00::3"]);
  });
  await t.step("IPv6 /64", () => {
    assert.deepEqual(fill(alloc("fd00:10:244:1::/64"), 2), [
      "fd00:10:244:1::2",
      "fd00:10:244:1::3",
    ]);
  });
  await t.step("reserved addresses", () => {
    assert.deepEqual(fill(alloc("10.0.0.0/29", ["10.0.0.3", "10.0.0.4"]), 3), [
      "10.0.0.2",
      "10.0.0.5",
      "10.0.0.6",
    ]);
  });
});

Deno.test("IpAllocator.allocate() continues after the last allocation and wraps", async (t) => {
  const a = alloc("10.0.0.0/29");
  assert.deepEqual(fill(a, 3, "a"), ["10.0.0.2", "10.0.0.3", "10.0.0.4"]);
  await t.step("a just-released address is not reused next", () => {
    assert.equal(a.release(ip("10.0.0.3")), true);
    assert.equal(a.allocate("b").toString(), "10.0.0.5");
    assert.equal(a.allocate("c").toString(), "10.0.0.6");
  });
  await t.step("after the end it wraps to the first free address", () => {
    assert.equal(a.allocate("d").toString(), "10.0.0.3");
    a.release(ip("10.0.0.2"));
    a.release(ip("10.0.0.5"));
    assert.equal(a.allocate("e").toString(), "10.0.0.5");
    assert.equal(a.allocate("f").toString(), "10.0.0.2");
  });
  await t.step("allocateSpecific() does not move the cursor", () => {
    const b = alloc("10.0.0.0/24");
    b.allocate("x");
    b.allocateSpecific(ip("10.0.0.200"), "y");
    assert.equal(b.allocate("z").toString(), "10.0.0.3");
  });
});

Deno.test("IpAllocator.allocate() throws IpamExhaustedError naming the CIDR and its size", async (t) => {
  const cases: Array<[string, string[], string]> = [
    [
      "10.0.0.0/30",
      [],
      'No free address in "10.0.0.0/30": all 1 allocatable addresses are in use (the CIDR has ' +
      "4; the network, router and broadcast addresses are never allocated)",
    ],
    [
      "10.0.0.0/29",
      ["10.0.0.2", "10.0.0.3"],
      'No free address in "10.0.0.0/29": all 3 allocatable addresses are in use (the CIDR has ' +
      "8; the network, router and broadcast addresses and 2 reserved addresses are never allocated)",
    ],
    [
      "fd00::/126",
      [],
      'No free address in "fd00::/126": all 2 allocatable addresses are in use (the CIDR has ' +
      "4; the network and router addresses are never allocated)",
    ],
  ];
  for (const [cidr, reserved, message] of cases) {
    await t.step(cidr, () => {
      const a = alloc(cidr, reserved);
      fill(a, Number(a.capacity));
      assert.throws(() => a.allocate("late"), (e) => {
        assert.ok(e instanceof IpamExhaustedError && e instanceof IpamError);
        assert.equal(e.cidr, cidr);
        assert.equal(e.capacity, a.capacity);
        assert.equal(e.message, message);
        return true;
      });
    });
  }
});

Deno.test("IpAllocator.allocate() fills a /16 in well under a second", () => {
  const a = alloc("10.1.0.0/16");
  const start = performance.now();
  for (let i = 0; i < 65533; i++) a.allocate(`pod-${i}`);
  const elapsed = performance.now() - start;
  assert.equal(a.available, 0n);
  assert.equal(a.owner(ip("10.1.255.254")), "pod-65532");
  assert.throws(() => a.allocate("one-more"), IpamExhaustedError);
  a.release(ip("10.1.128.0"));
  assert.equal(a.allocate("again").toString(), "10.1.128.0");
  assert.ok(elapsed < 1000, `took ${elapsed.toFixed(0)} ms`);
});

Deno.test("IpAllocator.allocateSpecific() takes exactly the address asked for", async (t) => {
  const a = alloc("10.0.0.0/24", ["10.0.0.53"]);
  await t.step("free address, idempotent for the same owner", () => {
    assert.equal(a.allocateSpecific(ip("10.0.0.100"), "a").toString(), "10.0.0.100");
    assert.equal(a.allocateSpecific(ip("10.0.0.100"), "a").toString(), "10.0.0.100");
    assert.equal(a.used, 1);
  });
  await t.step("another owner's address is an IpamConflictError naming the holder", () => {
    assert.throws(() => a.allocateSpecific(ip("10.0.0.100"), "b"), (e) => {
      assert.ok(e instanceof IpamConflictError);
      assert.equal(e.owner, "a");
      assert.equal(
        e.message,
        'Cannot allocate "10.0.0.100" to "b": it is already allocated to "a"',
      );
      return true;
    });
  });
  const cases: Array<[string, string]> = [
    ["10.0.0.0", "it is the network address"],
    ["10.0.0.1", "it is the router address"],
    ["10.0.0.255", "it is the broadcast address"],
    ["10.0.0.53", "it is reserved"],
    ["10.0.1.2", 'outside "10.0.0.0/24"'],
    ["::ffff:10.0.0.2", 'outside "10.0.0.0/24"'],
  ];
  for (const [text, reason] of cases) {
    await t.step(text, () => {
      assert.throws(() => a.allocateSpecific(ip(text), "b"), {
        name: "IpamError",
        message: `Cannot allocate "${text}" to "b": ${reason}`,
      });
    });
  }
  await t.step("an empty owner", () => {
    assert.throws(() => a.allocateSpecific(ip("10.0.0.9"), ""), /^IpamError: Invalid owner ""/);
  });
  assert.equal(a.used, 1, "failed calls change nothing");
});

Deno.test("IpAllocator.release() and releaseOwner() free addresses", async (t) => {
  const a = alloc("fd00::/120");
  const [x1, y1, x2] = [a.allocate("x"), a.allocate("y"), a.allocate("x")];
  await t.step("release() is true once, then false", () => {
    assert.equal(a.release(y1), true);
    assert.equal(a.release(y1), false);
    assert.equal(a.owner(y1), undefined);
    assert.deepEqual(a.addressesOf("y"), []);
  });
  await t.step("release() of addresses it never allocates is false", () => {
    for (const text of ["fd00::", "fd00::1", "fd00::1:0", "10.0.0.2"]) {
      assert.equal(a.release(ip(text)), false, text);
    }
  });
  await t.step("releaseOwner() frees all of the owner's addresses, lowest first", () => {
    assert.deepEqual(a.releaseOwner("x").map(String), [String(x1), String(x2)]);
    assert.deepEqual(a.releaseOwner("x"), []);
    assert.equal(a.used, 0);
    assert.equal(a.available, a.capacity);
  });
});

Deno.test("IpAllocator.owner() and addressesOf() look up allocations", () => {
  const a = alloc("10.0.0.0/24");
  a.allocateSpecific(ip("10.0.0.9"), "p");
  a.allocate("p");
  a.allocate("q");
  assert.equal(a.owner(ip("10.0.0.9")), "p");
  assert.equal(a.owner(ip("10.0.0.3")), "q");
  assert.equal(a.owner(ip("10.0.0.4")), undefined);
  assert.equal(a.owner(ip("10.9.9.9")), undefined);
  assert.equal(a.owner(ip("::")), undefined);
  assert.deepEqual(a.addressesOf("p").map(String), ["10.0.0.2", "10.0.0.9"]);
  assert.equal(a.used, 3);
  assert.equal(a.available, 250n);
});
