// IP addresses as bytes and integers, for map keys, packets and the wire.
//
// Byte order: every byte array here is in network byte order (most significant byte first), so
// 10.0.0.1 is [10, 0, 0, 1] and ::1 is fifteen zeros then 1: the layout of `__be32` and
// `struct in6_addr` in the datapath.
//
// `ipv4ToU32` gives the address as a number (10.0.0.1 is 0x0a000001), which is the host-order
// value of the datapath's `__be32`. To put it into a `__be32` field write it big endian (the
// `be32` codec of core/bpf, or `DataView.setUint32(offset, n, false)`); writing it with a
// host-order (little endian) u32 codec stores the bytes reversed.

import { IpamError, quote } from "./errors.ts";
import { Ip, type IpFamily } from "./ip.ts";

/** 4 bytes for IPv4, 16 for IPv6, network byte order. */
export function ipToBytes(ip: Ip): Uint8Array<ArrayBuffer> {
  const length = ip.family === 4 ? 4 : 16;
  const out = new Uint8Array(length);
  let v = ip.value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Inverse of `ipToBytes`: 4 bytes are IPv4, 16 are IPv6; any other length is an IpamError. */
export function ipFromBytes(bytes: Uint8Array): Ip {
  if (bytes.length !== 4 && bytes.length !== 16) {
    throw new IpamError(
      `Invalid IP address bytes of length ${bytes.length}: expected 4 (IPv4) or 16 (IPv6)`,
    );
  }
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return new Ip(bytes.length === 4 ? 4 : 6, v);
}

/**
 * The datapath's family-independent key layout: 16 bytes, network byte order. IPv6 fills all 16;
 * IPv4 is in bytes 0-3 and bytes 4-15 are zero (not the ::ffff:a.b.c.d mapped form). The family
 * is not recoverable from these bytes, so keys carry it separately.
 */
export function ipTo16Bytes(ip: Ip): Uint8Array<ArrayBuffer> {
  if (ip.family === 6) return ipToBytes(ip);
  const out = new Uint8Array(16);
  out.set(ipToBytes(ip));
  return out;
}

/** Inverse of `ipTo16Bytes`; for IPv4, bytes 4-15 must be zero. */
export function ipFrom16Bytes(bytes: Uint8Array, family: IpFamily): Ip {
  if (bytes.length !== 16) {
    throw new IpamError(`Invalid 16-byte IP address of length ${bytes.length}: expected 16`);
  }
  if (family === 6) return ipFromBytes(bytes);
  if (bytes.subarray(4).some((b) => b !== 0)) {
    throw new IpamError(
      `Invalid 16-byte IPv4 address ${quote(hex(bytes))}: bytes 4-15 must be zero`,
    );
  }
  return ipFromBytes(bytes.subarray(0, 4));
}

/** The IPv4 address as an unsigned 32-bit number, 1.2.3.4 -> 0x01020304 (see header). */
export function ipv4ToU32(ip: Ip): number {
  if (ip.family !== 4) throw new IpamError(`Cannot convert ${quote(ip)} to a u32: not IPv4`);
  return Number(ip.value);
}

/** Inverse of `ipv4ToU32`; `n` must be an integer 0 to 2^32-1. */
export function u32ToIpv4(n: number): Ip {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new IpamError(`Invalid IPv4 u32 ${quote(n)}: must be an integer 0 to 4294967295`);
  }
  return new Ip(4, BigInt(n));
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}
