import assert from "node:assert/strict";
import { IpamError } from "./errors.ts";
import { Ip, parseIp } from "./ip.ts";
import {
  ipFrom16Bytes,
  ipFromBytes,
  ipTo16Bytes,
  ipToBytes,
  ipv4ToU32,
  u32ToIpv4,
} from "./ip_bytes.ts";

/** 16 bytes: `bytes` right-aligned after zeros. */
const v6 = (...bytes: number[]) => [...new Array<number>(16 - bytes.length).fill(0), ...bytes];
const hex = (text: string) => text.match(/../g)?.map((b) => parseInt(b, 16)) ?? [];

Deno.test("ipToBytes() writes network byte order and ipFromBytes() reads it back", async (t) => {
  const cases: Array<[string, number[]]> = [
    ["0.0.0.0", [0, 0, 0, 0]],
    ["10.0.0.1", [10, 0, 0, 1]],
    ["192.168.1.254", [192, 168, 1, 254]],
    ["255.255.255.255", [255, 255, 255, 255]],
    ["::", v6()],
    ["::1", v6(1)],
    ["::ffff:1.2.3.4", v6(0xff, 0xff, 1, 2, 3, 4)],
    ["2001:db8::ff00:42:8329", hex("20010db8000000000000ff0000428329")],
    ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", new Array<number>(16).fill(255)],
  ];
  for (const [text, bytes] of cases) {
    await t.step(text, () => {
      const ip = parseIp(text);
      assert.deepEqual([...ipToBytes(ip)], bytes);
      assert.ok(ipFromBytes(new Uint8Array(bytes)).equals(ip));
    });
  }
});

Deno.test("ipFromBytes() rejects lengths other than 4 and 16", async (t) => {
  for (const length of [0, 3, 5, 15, 17]) {
    await t.step(`${length} bytes`, () => {
      assert.throws(() => ipFromBytes(new Uint8Array(length)), {
        name: "IpamError",
        message: `Invalid IP address bytes of length ${length}: expected 4 (IPv4) or 16 (IPv6)`,
      });
    });
  }
});

Deno.test("ipTo16Bytes() puts IPv4 in bytes 0-3 with zeros after, IPv6 in all 16", async (t) => {
  const cases: Array<[string, number[]]> = [
    ["10.0.0.1", [10, 0, 0, 1, ...new Array<number>(12).fill(0)]],
    ["255.255.255.255", [255, 255, 255, 255, ...new Array<number>(12).fill(0)]],
    ["0.0.0.0", v6()],
    ["::1", v6(1)],
    ["fd00::1", [0xfd, ...v6(1).slice(1)]],
  ];
  for (const [text, bytes] of cases) {
    await t.step(text, () => {
      const ip = parseIp(text);
      assert.deepEqual([...ipTo16Bytes(ip)], bytes);
      assert.ok(ipFrom16Bytes(new Uint8Array(bytes), ip.family).equals(ip));
    });
  }
  await t.step("0.0.0.0 and :: share bytes; the family tells them apart", () => {
    assert.equal(ipFrom16Bytes(new Uint8Array(16), 4).toString(), "0.0.0.0");
    assert.equal(ipFrom16Bytes(new Uint8Array(16), 6).toString(), "::");
  });
});

Deno.test("ipFrom16Bytes() rejects a wrong length and IPv4 with bytes 4-15 set", () => {
  assert.throws(() => ipFrom16Bytes(new Uint8Array(4), 4), {
    name: "IpamError",
    message: "Invalid 16-byte IP address of length 4: expected 16",
  });
  assert.throws(() => ipFrom16Bytes(new Uint8Array(v6(0xff, 0xff, 10, 0, 0, 1)), 4), {
    name: "IpamError",
    message: 'Invalid 16-byte IPv4 address "00000000000000000000ffff0a000001": ' +
      "bytes 4-15 must be zero",
  });
});

Deno.test("ipv4ToU32() gives the address as a number and u32ToIpv4() inverts it", async (t) => {
  const cases: Array<[string, number]> = [
    ["0.0.0.0", 0],
    ["0.0.0.1", 1],
    ["1.2.3.4", 0x01020304],
    ["10.0.0.1", 0x0a000001],
    ["255.255.255.255", 0xffffffff],
  ];
  for (const [text, u32] of cases) {
    await t.step(text, () => {
      assert.equal(ipv4ToU32(parseIp(text)), u32);
      assert.equal(u32ToIpv4(u32).toString(), text);
    });
  }
  await t.step("big-endian write of the u32 gives the network-order bytes", () => {
    const view = new DataView(new ArrayBuffer(4));
    view.setUint32(0, ipv4ToU32(parseIp("10.1.2.3")), false);
    assert.deepEqual([...new Uint8Array(view.buffer)], [...ipToBytes(parseIp("10.1.2.3"))]);
  });
});

Deno.test("ipv4ToU32() rejects IPv6 and u32ToIpv4() rejects non-u32 numbers", async (t) => {
  await t.step("IPv6", () => {
    assert.throws(() => ipv4ToU32(parseIp("::ffff:1.2.3.4")), {
      name: "IpamError",
      message: 'Cannot convert "::ffff:1.2.3.4" to a u32: not IPv4',
    });
  });
  for (const n of [-1, 0x100000000, 1.5, NaN, Infinity]) {
    await t.step(String(n), () => {
      assert.throws(
        () => u32ToIpv4(n),
        (e) =>
          e instanceof IpamError &&
          e.message === `Invalid IPv4 u32 "${n}": must be an integer 0 to 4294967295`,
      );
    });
  }
  assert.ok(u32ToIpv4(0).equals(new Ip(4, 0n)));
});
