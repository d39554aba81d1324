import assert from "node:assert/strict";
import { InvalidIpError, IpamError } from "./errors.ts";
import { familyBits, formatIp, Ip, type IpFamily, parseIp, tryParseIp } from "./ip.ts";

Deno.test("parseIp() reads IPv4 dotted quads into family 4 and a u32 value", async (t) => {
  const cases: Array<[string, bigint]> = [
    ["0.0.0.0", 0n],
    ["10.0.0.1", 0x0a000001n],
    ["192.168.1.254", 0xc0a801fen],
    ["255.255.255.255", 0xffffffffn],
  ];
  for (const [text, value] of cases) {
    await t.step(text, () => {
      const ip = parseIp(text);
      assert.equal(ip.family, 4);
      assert.equal(ip.value, value);
    });
  }
});

Deno.test("parseIp() reads every IPv6 text form of RFC 4291", async (t) => {
  const cases: Array<[string, bigint]> = [
    ["::", 0n],
    ["::1", 1n],
    ["1::", 1n << 112n],
    ["0:0:0:0:0:0:0:1", 1n],
    ["2001:db8::ff00:42:8329", 0x20010db8000000000000ff0000428329n],
    ["2001:0db8:0000:0000:0000:ff00:0042:8329", 0x20010db8000000000000ff0000428329n],
    ["2001:DB8::FF00:42:8329", 0x20010db8000000000000ff0000428329n],
    ["1:2:3:4:5:6:7::", 0x00010002000300040005000600070000n],
    ["::2:3:4:5:6:7:8", 0x00000002000300040005000600070008n],
    ["fd00:10:244::", 0xfd000010024400000000000000000000n],
    ["::ffff:1.2.3.4", 0xffff01020304n],
    ["::1.2.3.4", 0x01020304n],
    ["64:ff9b::192.0.2.33", 0x0064ff9b0000000000000000c0000221n],
    ["1:2:3:4:5:6:1.2.3.4", 0x00010002000300040005000601020304n],
    ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", (1n << 128n) - 1n],
  ];
  for (const [text, value] of cases) {
    await t.step(text, () => {
      const ip = parseIp(text);
      assert.equal(ip.family, 6);
      assert.equal(ip.value, value);
    });
  }
});

Deno.test("parseIp() rejects malformed text with InvalidIpError quoting the value and reason", async (t) => {
  const cases: Array<[string, string]> = [
    ["", "empty string"],
    ["hello", "not an IPv4 or IPv6 address"],
    [" 1.2.3.4", "contains whitespace"],
    ["1.2.3.4\n", "contains whitespace"],
    ["10.0.0.0/8", "unexpected prefix length (use parseCidr for CIDRs)"],
    ["fe80::1%eth0", "zone identifiers (%zone) are not supported"],
    ["1.2.3", "expected 4 dotted decimal octets, got 3"],
    ["1.2.3.4.5", "expected 4 dotted decimal octets, got 5"],
    ["1..3.4", "empty octet"],
    ["1.2.3.", "empty octet"],
    ["1.2.3.x", 'octet "x" is not a decimal number'],
    ["1.2.3.-1", 'octet "-1" is not a decimal number'],
    ["1.2.3.0x1", 'octet "0x1" is not a decimal number'],
    ["01.2.3.4", 'octet "01" has a leading zero (ambiguous: octal to some parsers)'],
    ["1.2.3.00", 'octet "00" has a leading zero (ambiguous: octal to some parsers)'],
    ["1.2.3.256", 'octet "256" is out of range 0-255'],
    ["1.2.3.1000", 'octet "1000" is out of range 0-255'],
    ["1::2::3", 'more than one "::"'],
    [":::", 'empty group (a stray ":")'],
    [":1:2:3:4:5:6:7", 'empty group (a stray ":")'],
    ["1:2:3:4:5:6:7:", 'empty group (a stray ":")'],
    ["1::2:", 'empty group (a stray ":")'],
    ["1:2:3:4:5:6:7", "expected 8 groups, got 7"],
    ["1:2:3:4:5:6:7:8:9", "expected 8 groups, got 9"],
    ["1:2:3:4:5:6:7:1.2.3.4", "expected 8 groups, got 9"],
    ["1:2:3:4:5:6:7:8::", 'too many groups for "::" (at most 7 besides it, got 8)'],
    ["1:2:3:4::5:6:7:8", 'too many groups for "::" (at most 7 besides it, got 8)'],
    ["12345::", 'group "12345" has more than 4 hex digits'],
    ["00000::", 'group "00000" has more than 4 hex digits'],
    ["g::", 'group "g" is not hexadecimal'],
    ["+1::", 'group "+1" is not hexadecimal'],
    ["1.2.3.4::", 'embedded IPv4 "1.2.3.4" must be the last 32 bits'],
    ["::1.2.3.4:5", 'embedded IPv4 "1.2.3.4" must be the last 32 bits'],
    ["::ffff:1.2.3.256", 'embedded IPv4 "1.2.3.256": octet "256" is out of range 0-255'],
    ["::ffff:01.2.3.4", 'embedded IPv4 "01.2.3.4": octet "01" has a leading zero'],
    ["::ffff:1.2.3", 'embedded IPv4 "1.2.3": expected 4 dotted decimal octets, got 3'],
  ];
  for (const [text, reason] of cases) {
    await t.step(JSON.stringify(text), () => {
      assert.throws(() => parseIp(text), (e) => {
        assert.ok(e instanceof InvalidIpError && e instanceof IpamError);
        assert.equal(e.value, text);
        assert.ok(e.reason.startsWith(reason), `reason ${JSON.stringify(e.reason)}`);
        assert.equal(e.message, `Invalid IP address ${JSON.stringify(text)}: ${e.reason}`);
        return true;
      });
      assert.equal(tryParseIp(text), undefined);
    });
  }
});

Deno.test("parseIp() error message names the value and the reason", () => {
  assert.throws(() => parseIp("10.0.0.256"), {
    name: "InvalidIpError",
    message: 'Invalid IP address "10.0.0.256": octet "256" is out of range 0-255',
  });
});

Deno.test("tryParseIp() returns the address for valid text", () => {
  assert.equal(tryParseIp("10.1.2.3")?.value, 0x0a010203n);
  assert.equal(tryParseIp("::1")?.family, 6);
});

Deno.test("formatIp() follows RFC 5952 for IPv6 and dotted quads for IPv4", async (t) => {
  const cases: Array<[string, string, string]> = [
    ["dotted quad", "192.0.2.1", "192.0.2.1"],
    ["IPv4 zero", "0.0.0.0", "0.0.0.0"],
    ["IPv4 max", "255.255.255.255", "255.255.255.255"],
    ["4.1 leading zeros suppressed", "2001:0db8::0001", "2001:db8::1"],
    ["4.2.1 longest run compressed", "2001:db8:0:0:0:0:2:1", "2001:db8::2:1"],
    ["4.2.2 single zero group kept", "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["4.2.3 longest of two runs", "2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
    ["4.2.3 first of equal runs", "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["4.3 lowercase", "2001:DB8::ABCD:EF", "2001:db8::abcd:ef"],
    ["all zeros", "0:0:0:0:0:0:0:0", "::"],
    ["loopback", "0:0:0:0:0:0:0:1", "::1"],
    ["trailing run", "1:0:0:0:0:0:0:0", "1::"],
    ["run in the middle", "0:0:1:0:0:0:0:0", "0:0:1::"],
    ["single zero at the end", "1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
    ["single zero at the start", "::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"],
    ["no zeros", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
    ["max", "FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
    ["5 IPv4-mapped in dotted form", "::ffff:c000:0201", "::ffff:192.0.2.1"],
    ["5 IPv4-mapped kept", "::FFFF:192.0.2.1", "::ffff:192.0.2.1"],
    ["IPv4-mapped zero", "::ffff:0.0.0.0", "::ffff:0.0.0.0"],
    ["IPv4-compatible is plain hex", "::1.2.3.4", "::102:304"],
    ["NAT64 is plain hex", "64:ff9b::192.0.2.33", "64:ff9b::c000:221"],
    ["pod pool", "fd00:0010:0244:0000:0000:0000:0000:0000", "fd00:10:244::"],
  ];
  for (const [name, text, canonical] of cases) {
    await t.step(`${name}: ${text}`, () => {
      const ip = parseIp(text);
      assert.equal(formatIp(ip), canonical);
      assert.equal(`${ip}`, canonical);
      assert.equal(JSON.stringify({ ip }), JSON.stringify({ ip: canonical }));
      assert.ok(parseIp(canonical).equals(ip), "canonical text parses back to the same address");
      assert.equal(formatIp(parseIp(canonical)), canonical, "canonical text is a fixed point");
    });
  }
});

Deno.test("formatIp() round-trips pseudo-random addresses of both families through parseIp()", () => {
  let seed = 0x2545f491n;
  const next = () => (seed = (seed * 6364136223846793005n + 1442695040888963407n) % (1n << 64n));
  for (let i = 0; i < 2000; i++) {
    const family: IpFamily = i % 2 ? 4 : 6;
    let value = family === 4 ? next() & 0xffffffffn : (next() << 64n) | next();
    // Zero out random groups so that "::" placement gets exercised.
    if (family === 6) {
      for (let g = 0; g < 8; g++) if (next() & 1n) value &= ~(0xffffn << BigInt(g * 16));
    }
    const ip = new Ip(family, value);
    assert.ok(parseIp(formatIp(ip)).equals(ip), formatIp(ip));
  }
});

Deno.test("Ip rejects values outside the family's width and unknown families", async (t) => {
  const cases: Array<[string, () => Ip, RegExp]> = [
    [
      "2^32 for IPv4",
      () => new Ip(4, 1n << 32n),
      /^Invalid IP address value "4294967296": must be 0 to 2\^32-1 for IPv4$/,
    ],
    ["-1 for IPv6", () => new Ip(6, -1n), /"-1": must be 0 to 2\^128-1 for IPv6/],
    ["2^128 for IPv6", () => new Ip(6, 1n << 128n), /must be 0 to 2\^128-1/],
    ["family 5", () => new Ip(5 as IpFamily, 0n), /^Invalid IP family "5": must be 4 or 6$/],
  ];
  for (const [name, make, message] of cases) {
    await t.step(
      name,
      () => assert.throws(make, (e) => e instanceof IpamError && message.test(e.message)),
    );
  }
  assert.equal(new Ip(4, 0xffffffffn).toString(), "255.255.255.255");
  assert.equal(new Ip(6, (1n << 128n) - 1n).bits, 128);
});

Deno.test("Ip.equals() and Ip.compare() order IPv4 before IPv6, then numerically", () => {
  assert.ok(parseIp("10.0.0.1").equals(parseIp("10.0.0.1")));
  assert.ok(!parseIp("0.0.0.1").equals(parseIp("::1")), "same value, different family");
  const sorted = ["::1", "10.0.0.2", "::", "10.0.0.10", "9.255.255.255"].map(parseIp)
    .sort((a, b) => a.compare(b)).map(String);
  assert.deepEqual(sorted, ["9.255.255.255", "10.0.0.2", "10.0.0.10", "::", "::1"]);
  assert.equal(parseIp("1.2.3.4").compare(parseIp("1.2.3.4")), 0);
});

Deno.test("familyBits() is 32 for IPv4 and 128 for IPv6", () => {
  assert.equal(familyBits(4), 32);
  assert.equal(familyBits(6), 128);
});
