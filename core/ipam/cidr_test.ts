import assert from "node:assert/strict";
import { Cidr, parseCidr, tryParseCidr } from "./cidr.ts";
import { InvalidCidrError, IpamError } from "./errors.ts";
import { parseIp } from "./ip.ts";

const MAX128 = (1n << 128n) - 1n;

Deno.test("parseCidr() reads both families and keeps the address as written", async (t) => {
  // text, canonical, address as written, family, size
  const cases: Array<[string, string, string, 4 | 6, bigint]> = [
    ["10.244.0.0/16", "10.244.0.0/16", "10.244.0.0", 4, 65536n],
    ["10.0.0.5/24", "10.0.0.0/24", "10.0.0.5", 4, 256n],
    ["0.0.0.0/0", "0.0.0.0/0", "0.0.0.0", 4, 1n << 32n],
    ["1.2.3.4/0", "0.0.0.0/0", "1.2.3.4", 4, 1n << 32n],
    ["192.168.1.7/31", "192.168.1.6/31", "192.168.1.7", 4, 2n],
    ["192.168.1.7/32", "192.168.1.7/32", "192.168.1.7", 4, 1n],
    ["fd00:10:244::/56", "fd00:10:244::/56", "fd00:10:244::", 6, 1n << 72n],
    ["FD00:0010:0244:0000::1/64", "fd00:10:244::/64", "fd00:10:244::1", 6, 1n << 64n],
    ["::/0", "::/0", "::", 6, 1n << 128n],
    ["::1/128", "::1/128", "::1", 6, 1n],
    ["::ffff:10.0.0.1/120", "::ffff:10.0.0.0/120", "::ffff:10.0.0.1", 6, 256n],
  ];
  for (const [text, canonical, address, family, size] of cases) {
    await t.step(text, () => {
      const cidr = parseCidr(text);
      assert.equal(cidr.toString(), canonical);
      assert.equal(cidr.address.toString(), address);
      assert.equal(cidr.family, family);
      assert.equal(cidr.size, size);
      assert.equal(JSON.stringify(cidr), JSON.stringify(canonical));
      assert.ok(parseCidr(canonical).equals(cidr), "canonical text parses back to the same CIDR");
      assert.ok(tryParseCidr(text)?.equals(cidr));
    });
  }
});

Deno.test("parseCidr() rejects bad CIDRs with InvalidCidrError quoting the value and reason", async (t) => {
  const cases: Array<[string, string]> = [
    ["10.0.0.0/33", "prefix length must be 0-32 for IPv4"],
    ["::/129", "prefix length must be 0-128 for IPv6"],
    ["10.0.0.0/999", "prefix length must be 0-32 for IPv4"],
    ["10.0.0.0", 'missing "/prefix-length"'],
    ["", "empty string"],
    ["10.0.0.0/", 'prefix length "" is not a decimal number without leading zeros'],
    ["10.0.0.0/08", 'prefix length "08" is not a decimal number without leading zeros'],
    ["10.0.0.0/-1", 'prefix length "-1" is not a decimal number without leading zeros'],
    ["10.0.0.0/+8", 'prefix length "+8" is not a decimal number without leading zeros'],
    ["10.0.0.0/ 8", 'prefix length " 8" is not a decimal number without leading zeros'],
    ["10.0.0.0/8/8", 'prefix length "8/8" is not a decimal number without leading zeros'],
    ["10.0.0.0/1000", 'prefix length "1000" is not a decimal number without leading zeros'],
    ["10.0.0.256/24", 'octet "256" is out of range 0-255'],
    ["010.0.0.0/8", 'octet "010" has a leading zero (ambiguous: octal to some parsers)'],
    ["10.0/16", "expected 4 dotted decimal octets, got 2"],
    ["fe80::%eth0/64", "zone identifiers (%zone) are not supported"],
    ["/24", 'missing the address before "/"'],
    ["1::2::/64", 'more than one "::"'],
  ];
  for (const [text, reason] of cases) {
    await t.step(JSON.stringify(text), () => {
      assert.throws(() => parseCidr(text), (e) => {
        assert.ok(e instanceof InvalidCidrError && e instanceof IpamError);
        assert.equal(e.value, text);
        assert.equal(e.reason, reason);
        assert.equal(e.message, `Invalid CIDR ${JSON.stringify(text)}: ${reason}`);
        return true;
      });
      assert.equal(tryParseCidr(text), undefined);
    });
  }
  await t.step("the message of the brief", () => {
    assert.throws(() => parseCidr("10.0.0.0/33"), {
      name: "InvalidCidrError",
      message: 'Invalid CIDR "10.0.0.0/33": prefix length must be 0-32 for IPv4',
    });
  });
});

Deno.test("parseCidr() with strict rejects host bits and suggests the network", async (t) => {
  await t.step("IPv4", () => {
    assert.throws(() => parseCidr("10.0.0.5/24", { strict: true }), {
      name: "InvalidCidrError",
      message:
        'Invalid CIDR "10.0.0.5/24": host bits are set after the prefix (did you mean "10.0.0.0/24"?)',
    });
  });
  await t.step("IPv6", () => {
    assert.throws(() => parseCidr("fd00::1/64", { strict: true }), /did you mean "fd00::\/64"\?/);
  });
  await t.step("aligned CIDRs pass", () => {
    assert.equal(parseCidr("10.0.0.0/24", { strict: true }).toString(), "10.0.0.0/24");
    assert.equal(parseCidr("1.2.3.4/32", { strict: true }).toString(), "1.2.3.4/32");
    assert.equal(tryParseCidr("10.0.0.5/24", { strict: true }), undefined);
  });
});

Deno.test("new Cidr() clears host bits and rejects prefix lengths outside the family", async (t) => {
  await t.step("normalises", () => {
    const cidr = new Cidr(parseIp("172.16.5.9"), 12);
    assert.equal(cidr.toString(), "172.16.0.0/12");
    assert.equal(cidr.hostBits, 20);
  });
  const cases: Array<[string, number, string]> = [
    ["10.0.0.0", 33, 'Invalid CIDR "10.0.0.0/33": prefix length must be 0-32 for IPv4'],
    ["10.0.0.0", -1, 'Invalid CIDR "10.0.0.0/-1": prefix length must be 0-32 for IPv4'],
    ["10.0.0.0", 8.5, 'Invalid CIDR "10.0.0.0/8.5": prefix length must be 0-32 for IPv4'],
    ["::", 129, 'Invalid CIDR "::/129": prefix length must be 0-128 for IPv6'],
  ];
  for (const [address, length, message] of cases) {
    await t.step(`${address}/${length}`, () => {
      assert.throws(() => new Cidr(parseIp(address), length), {
        name: "InvalidCidrError",
        message,
      });
    });
  }
});

Deno.test("Cidr.first(), last() and size span the whole prefix at every edge", async (t) => {
  const cases: Array<[string, string, string, bigint]> = [
    ["10.0.0.0/24", "10.0.0.0", "10.0.0.255", 256n],
    ["0.0.0.0/0", "0.0.0.0", "255.255.255.255", 1n << 32n],
    ["255.255.255.255/32", "255.255.255.255", "255.255.255.255", 1n],
    ["10.0.0.6/31", "10.0.0.6", "10.0.0.7", 2n],
    ["::/0", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1n << 128n],
    ["::1/128", "::1", "::1", 1n],
    ["::/128", "::", "::", 1n],
    ["fd00::/64", "fd00::", "fd00::ffff:ffff:ffff:ffff", 1n << 64n],
    [
      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120",
      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00",
      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
      256n,
    ],
  ];
  for (const [text, first, last, size] of cases) {
    await t.step(text, () => {
      const cidr = parseCidr(text);
      assert.equal(cidr.first().toString(), first);
      assert.equal(cidr.last().toString(), last);
      assert.equal(cidr.size, size);
      assert.equal(cidr.last().value - cidr.first().value + 1n, size);
    });
  }
});

Deno.test("Cidr.nth() counts from the network address and offsetOf() inverts it", async (t) => {
  const cases: Array<[string, number | bigint, string]> = [
    ["10.0.0.0/24", 0, "10.0.0.0"],
    ["10.0.0.0/24", 1, "10.0.0.1"],
    ["10.0.0.0/24", 255n, "10.0.0.255"],
    ["10.0.0.0/16", 258, "10.0.1.2"],
    ["0.0.0.0/0", 0xffffffffn, "255.255.255.255"],
    ["1.2.3.4/32", 0, "1.2.3.4"],
    ["fd00::/64", 0x10000n, "fd00::1:0"],
    ["::/0", MAX128, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
  ];
  for (const [text, index, ip] of cases) {
    await t.step(`${text} #${index}`, () => {
      const cidr = parseCidr(text);
      assert.equal(cidr.nth(index).toString(), ip);
      assert.equal(cidr.offsetOf(parseIp(ip)), BigInt(index));
    });
  }
});

Deno.test("Cidr.nth() and offsetOf() reject what is outside the prefix", async (t) => {
  const cases: Array<[string, number | bigint, string]> = [
    ["10.0.0.0/24", 256, 'Index "256" is out of range for "10.0.0.0/24": must be 0 to 255'],
    ["10.0.0.0/24", -1, 'Index "-1" is out of range for "10.0.0.0/24": must be 0 to 255'],
    ["10.0.0.0/24", 1.5, 'Index "1.5" is out of range for "10.0.0.0/24": must be 0 to 255'],
    ["1.2.3.4/32", 1n, 'Index "1" is out of range for "1.2.3.4/32": must be 0 to 0'],
    [
      "::/0",
      1n << 128n,
      `Index "${1n << 128n}" is out of range for "::/0": must be 0 to ${MAX128}`,
    ],
  ];
  for (const [text, index, message] of cases) {
    await t.step(`${text} #${index}`, () => {
      assert.throws(() => parseCidr(text).nth(index), { name: "IpamError", message });
    });
  }
  await t.step("offsetOf() outside", () => {
    assert.throws(() => parseCidr("10.0.0.0/24").offsetOf(parseIp("10.0.1.0")), {
      name: "IpamError",
      message: 'Address "10.0.1.0" is outside "10.0.0.0/24"',
    });
    assert.throws(() => parseCidr("0.0.0.0/0").offsetOf(parseIp("::")), /outside "0.0.0.0\/0"/);
  });
});

Deno.test("Cidr.contains() matches addresses of the same family inside the prefix", async (t) => {
  const cases: Array<[string, string, boolean]> = [
    ["10.0.0.0/24", "10.0.0.0", true],
    ["10.0.0.0/24", "10.0.0.255", true],
    ["10.0.0.0/24", "10.0.1.0", false],
    ["10.0.0.0/24", "9.255.255.255", false],
    ["0.0.0.0/0", "255.255.255.255", true],
    ["0.0.0.0/0", "::", false],
    ["10.0.0.1/32", "10.0.0.1", true],
    ["10.0.0.1/32", "10.0.0.2", false],
    ["10.0.0.0/8", "::ffff:10.0.0.1", false],
    ["::/0", "0.0.0.0", false],
    ["::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true],
    ["::1/128", "::1", true],
    ["::1/128", "::", false],
    ["fd00::/64", "fd00::ffff:ffff:ffff:ffff", true],
    ["fd00::/64", "fd00:0:0:1::", false],
  ];
  for (const [cidr, ip, expected] of cases) {
    await t.step(`${cidr} ${expected ? "contains" : "does not contain"} ${ip}`, () => {
      assert.equal(parseCidr(cidr).contains(parseIp(ip)), expected);
    });
  }
});

Deno.test("Cidr.containsCidr() and overlaps() compare prefixes of the same family", async (t) => {
  // a, b, a contains b, b contains a, overlap
  const cases: Array<[string, string, boolean, boolean, boolean]> = [
    ["10.0.0.0/8", "10.1.0.0/16", true, false, true],
    ["10.0.0.0/24", "10.0.0.0/24", true, true, true],
    ["10.0.0.0/24", "10.0.1.0/24", false, false, false],
    ["10.0.0.0/25", "10.0.0.128/25", false, false, false],
    ["0.0.0.0/0", "1.2.3.4/32", true, false, true],
    ["10.0.0.0/31", "10.0.0.1/32", true, false, true],
    ["0.0.0.0/0", "::/0", false, false, false],
    ["::/0", "fd00::/8", true, false, true],
    ["fd00::/64", "fd00::1/128", true, false, true],
    ["fd00::/64", "fd00:0:0:1::/64", false, false, false],
  ];
  for (const [a, b, aInB, bInA, overlap] of cases) {
    await t.step(`${a} vs ${b}`, () => {
      const [x, y] = [parseCidr(a), parseCidr(b)];
      assert.equal(x.containsCidr(y), aInB);
      assert.equal(y.containsCidr(x), bInA);
      assert.equal(x.overlaps(y), overlap);
      assert.equal(y.overlaps(x), overlap, "overlaps() is symmetric");
    });
  }
});

Deno.test("Cidr.equals() compares networks, not the address as written", () => {
  assert.ok(parseCidr("10.0.0.5/24").equals(parseCidr("10.0.0.0/24")));
  assert.ok(!parseCidr("10.0.0.0/24").equals(parseCidr("10.0.0.0/25")));
  assert.ok(!parseCidr("0.0.0.0/0").equals(parseCidr("::/0")));
});
