import assert from "node:assert/strict";
import { parseCidr } from "./cidr.ts";
import { IpamConflictError, IpamError, IpamExhaustedError } from "./errors.ts";
import { nodeCidrCount, nodeCidrIndex, nthNodeCidr, PodCidrPool } from "./pod_cidr_pool.ts";

const c = parseCidr;
const names = (cidrs: Array<{ toString(): string }>) => cidrs.map(String);

Deno.test("nodeCidrCount() is 2^(mask size - pool prefix length)", async (t) => {
  const cases: Array<[string, number, bigint]> = [
    ["10.244.0.0/16", 24, 256n],
    ["10.244.0.0/16", 16, 1n],
    ["10.244.0.0/16", 30, 16384n],
    ["0.0.0.0/0", 30, 1n << 30n],
    ["10.0.0.0/30", 30, 1n],
    ["fd00:10:244::/56", 64, 256n],
    ["fd00::/64", 120, 1n << 56n],
    ["::/0", 120, 1n << 120n],
  ];
  for (const [pool, mask, count] of cases) {
    await t.step(`${pool} into /${mask}`, () => assert.equal(nodeCidrCount(c(pool), mask), count));
  }
});

Deno.test("nodeCidrCount() and PodCidrPool reject mask sizes outside the documented limits", async (t) => {
  const cases: Array<[string, number, string]> = [
    [
      "10.244.0.0/16",
      15,
      'Invalid node mask size "15" for pool "10.244.0.0/16": must be 16-30 (at least the ' +
      "pool's prefix length; a node CIDR needs at least 2 host bits)",
    ],
    ["10.244.0.0/16", 31, 'Invalid node mask size "31" for pool "10.244.0.0/16": must be 16-30'],
    ["10.244.0.0/16", 32, 'Invalid node mask size "32" for pool "10.244.0.0/16": must be 16-30'],
    ["10.244.0.0/16", 24.5, 'Invalid node mask size "24.5" for pool "10.244.0.0/16"'],
    [
      "fd00:10:244::/56",
      121,
      'Invalid node mask size "121" for pool "fd00:10:244::/56": must be 56-120',
    ],
    [
      "fd00:10:244::/56",
      48,
      'Invalid node mask size "48" for pool "fd00:10:244::/56": must be 56-120 (at least the ' +
      "pool's prefix length; a node CIDR needs at least 8 host bits)",
    ],
    [
      "10.0.0.0/31",
      31,
      'Invalid pod CIDR pool "10.0.0.0/31": prefix length must be at most 30 for IPv4 ' +
      "(a node CIDR needs at least 2 host bits)",
    ],
    [
      "fd00::/124",
      124,
      'Invalid pod CIDR pool "fd00::/124": prefix length must be at most 120 for IPv6',
    ],
  ];
  for (const [pool, mask, message] of cases) {
    await t.step(`${pool} into /${mask}`, () => {
      const matches = (e: unknown) => e instanceof IpamError && e.message.startsWith(message);
      assert.throws(() => nodeCidrCount(c(pool), mask), matches);
      assert.throws(() => nthNodeCidr(c(pool), mask, 0), matches);
      assert.throws(() => new PodCidrPool(c(pool), mask), matches);
    });
  }
});

Deno.test("nthNodeCidr() numbers node CIDRs from the pool's network and nodeCidrIndex() inverts it", async (t) => {
  const cases: Array<[string, number, number | bigint, string]> = [
    ["10.244.0.0/16", 24, 0, "10.244.0.0/24"],
    ["10.244.0.0/16", 24, 1, "10.244.1.0/24"],
    ["10.244.0.0/16", 24, 255n, "10.244.255.0/24"],
    ["10.244.0.0/16", 26, 5, "10.244.1.64/26"],
    ["10.244.0.0/16", 16, 0, "10.244.0.0/16"],
    ["0.0.0.0/0", 30, (1n << 30n) - 1n, "255.255.255.252/30"],
    ["fd00:10:244::/56", 64, 0, "fd00:10:244::/64"],
    ["fd00:10:244::/56", 64, 1, "fd00:10:244:1::/64"],
    ["fd00:10:244::/56", 64, 255, "fd00:10:244:ff::/64"],
    ["::/0", 120, (1n << 120n) - 1n, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120"],
  ];
  for (const [pool, mask, index, expected] of cases) {
    await t.step(`${pool} /${mask} #${index}`, () => {
      const cidr = nthNodeCidr(c(pool), mask, index);
      assert.equal(cidr.toString(), expected);
      assert.equal(nodeCidrIndex(c(pool), mask, c(expected)), BigInt(index));
    });
  }
});

Deno.test("nthNodeCidr() rejects indexes outside the pool", async (t) => {
  for (const index of [-1, 256, 256n, 0.5]) {
    await t.step(String(index), () => {
      assert.throws(() => nthNodeCidr(c("10.244.0.0/16"), 24, index), {
        name: "IpamError",
        message:
          `Node CIDR index "${index}" is out of range for "10.244.0.0/16" with /24: must be 0 to 255`,
      });
    });
  }
});

Deno.test("nodeCidrIndex() says why a CIDR is not one of the pool's node CIDRs", async (t) => {
  const cases: Array<[string, string]> = [
    ["fd00::/24", "it is IPv6, the pool is IPv4"],
    ["10.245.0.0/24", "it is outside the pool"],
    ["10.0.0.0/8", "it is larger than the pool"],
    ["10.244.1.0/25", "its prefix length is /25, node CIDRs are /24"],
    ["10.244.1.0/23", "its prefix length is /23, node CIDRs are /24"],
    ["10.244.1.5/24", 'it is misaligned: host bits are set (did you mean "10.244.1.0/24"?)'],
  ];
  for (const [cidr, reason] of cases) {
    await t.step(cidr, () => {
      assert.throws(() => nodeCidrIndex(c("10.244.0.0/16"), 24, c(cidr)), {
        name: "IpamError",
        message: `"${cidr}" is not a node CIDR of "10.244.0.0/16": ${reason}`,
      });
    });
  }
});

Deno.test("PodCidrPool.allocate() hands out the lowest free node CIDR", async (t) => {
  await t.step("IPv4 in address order, reusing the lowest released", () => {
    const pool = new PodCidrPool(c("10.244.0.0/16"), 24);
    assert.deepEqual(
      names(["a", "b", "c", "d"].map((n) => pool.allocate(n))),
      ["10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24", "10.244.3.0/24"],
    );
    assert.equal(pool.release(c("10.244.2.0/24")), true);
    assert.equal(pool.release(c("10.244.1.0/24")), true);
    assert.equal(pool.allocate("e").toString(), "10.244.1.0/24");
    assert.equal(pool.allocate("f").toString(), "10.244.2.0/24");
    assert.equal(pool.allocate("g").toString(), "10.244.4.0/24");
  });
  await t.step("IPv6", () => {
    const pool = new PodCidrPool(c("fd00:10:244::/56"), 64);
    assert.deepEqual(names([pool.allocate("a"), pool.allocate("b")]), [
      "fd00:10:244::/64",
      "fd00:10:244:1::/64",
    ]);
  });
  await t.step("an owner may hold several node CIDRs", () => {
    const pool = new PodCidrPool(c("10.244.0.0/16"), 24);
    pool.allocate("a");
    pool.allocate("b");
    pool.allocate("a");
    assert.deepEqual(names(pool.cidrsOf("a")), ["10.244.0.0/24", "10.244.2.0/24"]);
  });
  await t.step("the same calls give the same CIDRs", () => {
    const run = () => {
      const pool = new PodCidrPool(c("10.244.0.0/20"), 26);
      for (let i = 0; i < 20; i++) pool.allocate(`n${i}`);
      for (let i = 0; i < 20; i += 3) pool.release(nthNodeCidr(pool.pool, 26, i));
      return names(["x", "y", "z"].map((n) => pool.allocate(n)));
    };
    assert.deepEqual(run(), run());
    assert.deepEqual(run(), ["10.244.0.0/26", "10.244.0.192/26", "10.244.1.128/26"]);
  });
  await t.step("rejects an empty owner", () => {
    assert.throws(() => new PodCidrPool(c("10.244.0.0/16"), 24).allocate(""), {
      name: "IpamError",
      message: 'Invalid owner "": must be a non-empty string',
    });
  });
});

Deno.test("PodCidrPool.allocate() takes a free preferred CIDR and otherwise falls back", async (t) => {
  const pool = new PodCidrPool(c("10.244.0.0/16"), 24);
  await t.step("free preferred", () => {
    assert.equal(pool.allocate("a", c("10.244.7.0/24")).toString(), "10.244.7.0/24");
  });
  await t.step("preferred already held by the same owner is returned", () => {
    assert.equal(pool.allocate("a", c("10.244.7.0/24")).toString(), "10.244.7.0/24");
    assert.equal(pool.used, 1);
  });
  await t.step("preferred held by another owner falls back to the lowest free", () => {
    assert.equal(pool.allocate("b", c("10.244.7.0/24")).toString(), "10.244.0.0/24");
    assert.equal(pool.ownerOf(c("10.244.7.0/24")), "a");
  });
  await t.step("preferred that is not a node CIDR of the pool is an error", () => {
    assert.throws(() => pool.allocate("c", c("10.245.0.0/24")), {
      name: "IpamError",
      message: 'Cannot allocate preferred "10.245.0.0/24" to "c": it is outside the pool',
    });
    assert.throws(() => pool.allocate("c", c("10.244.0.0/25")), /its prefix length is \/25/);
  });
});

Deno.test("PodCidrPool.allocate() throws IpamExhaustedError naming the pool and its size", () => {
  const pool = new PodCidrPool(c("10.0.0.0/24"), 26);
  for (const owner of ["a", "b", "c", "d"]) pool.allocate(owner);
  assert.equal(pool.free, 0n);
  assert.throws(() => pool.allocate("e"), (e) => {
    assert.ok(e instanceof IpamExhaustedError);
    assert.equal(e.cidr, "10.0.0.0/24");
    assert.equal(e.capacity, 4n);
    assert.equal(
      e.message,
      'No free node CIDR in "10.0.0.0/24": all 4 /26 node CIDRs are allocated ' +
        "(use a larger pool or a longer node mask size)",
    );
    return true;
  });
  assert.throws(() => pool.allocate("e", c("10.0.0.64/26")), IpamExhaustedError);
  pool.release(c("10.0.0.128/26"));
  assert.equal(pool.allocate("e").toString(), "10.0.0.128/26");
});

Deno.test("PodCidrPool.claim() records existing allocations and rejects bad ones", async (t) => {
  const pool = new PodCidrPool(c("10.244.0.0/16"), 24);
  await t.step("claims, idempotently for the same owner", () => {
    assert.equal(pool.claim("a", c("10.244.0.0/24")).toString(), "10.244.0.0/24");
    assert.equal(pool.claim("b", c("10.244.2.0/24")).toString(), "10.244.2.0/24");
    assert.equal(pool.claim("b", c("10.244.2.0/24")).toString(), "10.244.2.0/24");
    assert.equal(pool.used, 2);
  });
  await t.step("allocate() skips claimed CIDRs", () => {
    assert.equal(pool.allocate("c").toString(), "10.244.1.0/24");
    assert.equal(pool.allocate("d").toString(), "10.244.3.0/24");
  });
  await t.step("another owner's CIDR is an IpamConflictError naming the holder", () => {
    assert.throws(() => pool.claim("x", c("10.244.2.0/24")), (e) => {
      assert.ok(e instanceof IpamConflictError);
      assert.equal(e.owner, "b");
      assert.equal(
        e.message,
        'Cannot claim "10.244.2.0/24" for "x": it is already allocated to "b"',
      );
      return true;
    });
  });
  const cases: Array<[string, string]> = [
    ["10.245.0.0/24", "it is outside the pool"],
    ["10.244.9.0/25", "its prefix length is /25, node CIDRs are /24"],
    ["10.244.9.1/24", 'it is misaligned: host bits are set (did you mean "10.244.9.0/24"?)'],
    ["fd00::/24", "it is IPv6, the pool is IPv4"],
  ];
  for (const [cidr, reason] of cases) {
    await t.step(cidr, () => {
      assert.throws(() => pool.claim("x", c(cidr)), {
        name: "IpamError",
        message: `Cannot claim "${cidr}" for "x": ${reason}`,
      });
    });
  }
  assert.equal(pool.used, 4, "failed claims change nothing");
});

Deno.test("PodCidrPool.release() frees only what is allocated", () => {
  const pool = new PodCidrPool(c("10.244.0.0/16"), 24);
  pool.allocate("a");
  assert.equal(pool.release(c("10.244.1.0/24")), false, "free");
  assert.equal(pool.release(c("10.245.0.0/24")), false, "outside the pool");
  assert.equal(pool.release(c("10.244.0.0/25")), false, "wrong size");
  assert.equal(pool.release(c("10.244.0.0/24")), true);
  assert.equal(pool.release(c("10.244.0.0/24")), false, "already released");
  assert.equal(pool.used, 0);
});

Deno.test("PodCidrPool reports owners, allocations and counts", () => {
  const pool = new PodCidrPool(c("10.244.0.0/16"), 24);
  assert.equal(pool.capacity, 256n);
  pool.claim("b", c("10.244.5.0/24"));
  pool.allocate("a");
  assert.equal(pool.ownerOf(c("10.244.5.0/24")), "b");
  assert.equal(pool.ownerOf(c("10.244.6.0/24")), undefined);
  assert.equal(pool.ownerOf(c("10.0.0.0/24")), undefined);
  assert.deepEqual(pool.cidrsOf("nobody"), []);
  assert.deepEqual(
    pool.allocations().map(({ cidr, owner }) => [cidr.toString(), owner]),
    [["10.244.0.0/24", "a"], ["10.244.5.0/24", "b"]],
  );
  assert.equal(pool.used, 2);
  assert.equal(pool.free, 254n);
});

Deno.test("PodCidrPool handles pools with more node CIDRs than a number can count", () => {
  const pool = new PodCidrPool(c("::/0"), 120);
  assert.equal(pool.capacity, 1n << 120n);
  assert.equal(pool.allocate("a").toString(), "::/120");
  assert.equal(pool.allocate("b").toString(), "::100/120");
  const top = c("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120");
  assert.equal(pool.claim("c", top).toString(), top.toString());
  assert.equal(pool.free, (1n << 120n) - 3n);
});

Deno.test("PodCidrPool.allocate() fills 65536 node CIDRs in well under a second", () => {
  const pool = new PodCidrPool(c("10.0.0.0/8"), 24);
  const start = performance.now();
  for (let i = 0; i < 65536; i++) pool.allocate(`node-${i}`);
  const elapsed = performance.now() - start;
  assert.equal(pool.free, 0n);
  assert.ok(elapsed < 1000, `took ${elapsed.toFixed(0)} ms`);
});
