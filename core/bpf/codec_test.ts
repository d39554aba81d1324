import assert from "node:assert/strict";
import { array, be16, bytes, decode, encode, perCpu, struct, u16, u32, u64, u8 } from "./codec.ts";

Deno.test("struct() encodes fields at their offsets and zeroes padding", () => {
  const key = struct<{ id: number; port: number; proto: number }>(8, {
    id: [0, u32],
    port: [4, be16],
    proto: [6, u8],
  });
  const buf = encode(key, { id: 0x01020304, port: 8080, proto: 6 });
  assert.deepEqual([...buf], [4, 3, 2, 1, 0x1f, 0x90, 6, 0]);
  assert.deepEqual(decode(key, buf), { id: 0x01020304, port: 8080, proto: 6 });
});

Deno.test("struct() rejects a field that does not fit and a missing field", () => {
  assert.throws(() => struct<{ a: bigint }>(4, { a: [0, u64] }), /exceeds size 4/);
  const c = struct<{ a: number; b: number }>(4, { a: [0, u16], b: [2, u16] });
  assert.throws(() => encode(c, { a: 1 } as { a: number; b: number }), /"b" is missing/);
});

Deno.test("perCpu() lays out one 8-byte slot per CPU", () => {
  const c = perCpu(u32, 3);
  assert.equal(c.size, 24);
  const buf = encode(c, [1, 2, 3]);
  assert.equal(new DataView(buf.buffer).getUint32(8, true), 2);
  assert.deepEqual(decode(c, buf), [1, 2, 3]);
  assert.throws(() => encode(c, [1]), /needs 3 elements/);
});

Deno.test("bytes() and array() round-trip and check lengths", () => {
  const mac = bytes(6);
  assert.deepEqual([...decode(mac, encode(mac, new Uint8Array([1, 2, 3])))], [1, 2, 3, 0, 0, 0]);
  assert.throws(() => encode(mac, new Uint8Array(7)), /6 bytes got 7/);
  const arr = array(u16, 2);
  assert.deepEqual(decode(arr, encode(arr, [7, 9])), [7, 9]);
  assert.throws(() => encode(arr, [1]), /2 elements got 1/);
});
