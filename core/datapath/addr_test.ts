import assert from "node:assert/strict";
import { parseCidr, parseIp } from "../ipam/mod.ts";
import {
  addrWords,
  addrWordsOf,
  ipcacheKeyCidr,
  ipcacheKeyOf,
  macBytes,
  macText,
  randomMac,
  wordsToIp,
} from "./addr.ts";

Deno.test("addrWords() keeps network byte order in little-endian words", () => {
  // 10.0.1.2 = bytes 0a 00 01 02 -> LE u32 0x0201000a
  assert.deepEqual(addrWords(parseIp("10.0.1.2")), [0x0201000a, 0, 0, 0]);
  assert.equal(wordsToIp(addrWords(parseIp("fd00::1:2")), 6).toString(), "fd00::1:2");
});

Deno.test("ipcacheKeyOf() counts the family bytes in the LPM prefix length", () => {
  const key = ipcacheKeyOf(parseCidr("10.244.1.0/24"));
  assert.equal(key.prefixlen, 56);
  assert.equal(key.family, 4);
  assert.equal(ipcacheKeyCidr(key).toString(), "10.244.1.0/24");
});

Deno.test("macBytes() parses and rejects MAC text", () => {
  assert.equal(macText(macBytes("0A:00:00:00:00:FF")), "0a:00:00:00:00:ff");
  assert.throws(() => macBytes("0a:00"), /Invalid MAC address "0a:00"/);
  const m = macBytes(randomMac());
  assert.equal(m[0]! & 0x03, 0x02, "locally administered unicast");
});

Deno.test("addrWordsOf() reads address text as addrWords() reads the parsed address", () => {
  for (const ip of ["10.96.0.10", "0.0.0.0", "255.255.255.255", "fd00::1", "::ffff:10.0.0.1"]) {
    assert.deepEqual(addrWordsOf(ip), addrWords(parseIp(ip)), ip);
  }
  assert.throws(() => addrWordsOf("0x1.2.3.4"));
  assert.throws(() => addrWordsOf("10.0.0.256"));
});
