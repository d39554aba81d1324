// IP addresses: strict parsing, canonical text and the byte layouts the datapath uses.
//
// An `Ip` is a family (4 or 6) and the address as an unsigned integer (bigint): 10.0.0.1 is
// 0x0a000001n, ::1 is 1n. Arithmetic and ordering work on that integer; bytes are produced only at
// the edges, always in network byte order (most significant byte first, as on the wire).
//
// Parsing is strict on purpose, because addresses come from config and from other nodes and a
// lenient parser turns typos into wrong routes: no IPv6 zones ("fe80::1%eth0"), no leading zeros
// in IPv4 octets ("010" is octal to inet_aton), no shorthand IPv4 ("10.1"), no whitespace.

import { InvalidIpError, IpamError, quote } from "./errors.ts";

export type IpFamily = 4 | 6;

/** Address width in bits: 32 for IPv4, 128 for IPv6. */
export function familyBits(family: IpFamily): 32 | 128 {
  return family === 4 ? 32 : 128;
}

/** An immutable IP address. Compare with `equals()`, not `===`. */
export class Ip {
  /** Throws an IpamError unless `value` fits in the family's width. */
  constructor(readonly family: IpFamily, readonly value: bigint) {
    if (family !== 4 && family !== 6) {
      throw new IpamError(`Invalid IP family ${quote(family)}: must be 4 or 6`);
    }
    if (typeof value !== "bigint" || value < 0n || value >> BigInt(familyBits(family)) !== 0n) {
      throw new IpamError(
        `Invalid IP address value ${quote(value)}: must be 0 to 2^${familyBits(family)}-1 ` +
          `for IPv${family}`,
      );
    }
  }

  get bits(): 32 | 128 {
    return familyBits(this.family);
  }

  equals(other: Ip): boolean {
    return this.family === other.family && this.value === other.value;
  }

  /** Orders IPv4 before IPv6, then numerically; for `Array.prototype.sort`. */
  compare(other: Ip): number {
    if (this.family !== other.family) return this.family - other.family;
    return this.value < other.value ? -1 : this.value > other.value ? 1 : 0;
  }

  /** Canonical text, see `formatIp`. */
  toString(): string {
    return formatIp(this);
  }

  toJSON(): string {
    return formatIp(this);
  }
}

/** Parses an IPv4 dotted quad or any RFC 4291 IPv6 text form; throws InvalidIpError. */
export function parseIp(text: string): Ip {
  const result = parseIpOrReason(text);
  if (typeof result === "string") throw new InvalidIpError(text, result);
  return result;
}

/** Like `parseIp` but returns undefined for invalid text. */
export function tryParseIp(text: string): Ip | undefined {
  const result = parseIpOrReason(text);
  return typeof result === "string" ? undefined : result;
}

/** The parsed address, or why `text` is not one (the detail of an InvalidIpError). */
export function parseIpOrReason(text: string): Ip | string {
  if (typeof text !== "string") return "not a string";
  if (text === "") return "empty string";
  if (text.includes("%")) return "zone identifiers (%zone) are not supported";
  if (text.includes("/")) return "unexpected prefix length (use parseCidr for CIDRs)";
  if (/\s/.test(text)) return "contains whitespace";
  if (text.includes(":")) {
    const v6 = parseV6(text);
    return typeof v6 === "string" ? v6 : new Ip(6, v6);
  }
  if (!text.includes(".")) return "not an IPv4 or IPv6 address";
  const v4 = parseV4(text);
  return typeof v4 === "string" ? v4 : new Ip(4, BigInt(v4));
}

/** Dotted quad to a u32, or the reason it is not one. */
function parseV4(text: string): number | string {
  const parts = text.split(".");
  if (parts.length !== 4) return `expected 4 dotted decimal octets, got ${parts.length}`;
  let value = 0;
  for (const part of parts) {
    if (part === "") return "empty octet";
    if (!/^[0-9]+$/.test(part)) return `octet ${quote(part)} is not a decimal number`;
    if (part.length > 1 && part.startsWith("0")) {
      return `octet ${quote(part)} has a leading zero (ambiguous: octal to some parsers)`;
    }
    const octet = Number(part);
    if (part.length > 3 || octet > 255) return `octet ${quote(part)} is out of range 0-255`;
    value = value * 256 + octet;
  }
  return value;
}

/** Colon-separated hex groups, optionally one "::" and a trailing dotted quad. */
function parseV6(text: string): bigint | string {
  const halves = text.split("::");
  if (halves.length > 2) return `more than one "::"`;
  const head = parseGroups(halves[0] ?? "", halves.length === 1);
  if (typeof head === "string") return head;
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? "", true) : [];
  if (typeof tail === "string") return tail;
  const count = head.length + tail.length;
  if (halves.length === 1 && count !== 8) return `expected 8 groups, got ${count}`;
  if (halves.length === 2 && count > 7) {
    return `too many groups for "::" (at most 7 besides it, got ${count})`;
  }
  const groups = [...head, ...new Array<number>(8 - count).fill(0), ...tail];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** 16-bit groups of one side of "::"; a dotted quad is allowed only at the very end. */
function parseGroups(part: string, mayEndInV4: boolean): number[] | string {
  if (part === "") return [];
  const tokens = part.split(":");
  const groups: number[] = [];
  for (const [i, token] of tokens.entries()) {
    if (token.includes(".")) {
      if (!mayEndInV4 || i !== tokens.length - 1) {
        return `embedded IPv4 ${quote(token)} must be the last 32 bits`;
      }
      const v4 = parseV4(token);
      if (typeof v4 === "string") return `embedded IPv4 ${quote(token)}: ${v4}`;
      groups.push(v4 >>> 16, v4 & 0xffff);
    } else if (token === "") {
      return `empty group (a stray ":")`;
    } else if (!/^[0-9a-fA-F]+$/.test(token)) {
      return `group ${quote(token)} is not hexadecimal`;
    } else if (token.length > 4) {
      return `group ${quote(token)} has more than 4 hex digits`;
    } else {
      groups.push(parseInt(token, 16));
    }
  }
  return groups;
}

/**
 * Canonical text: dotted quad for IPv4; RFC 5952 for IPv6 (lowercase, no leading zeros, the
 * longest run of two or more zero groups compressed to "::", the first run on a tie) with
 * IPv4-mapped addresses (::ffff:0:0/96) written as "::ffff:1.2.3.4" (RFC 5952 section 5).
 */
export function formatIp(ip: Ip): string {
  if (ip.family === 4) return formatV4(Number(ip.value));
  return formatV6Groups(
    Array.from({ length: 8 }, (_, i) => Number((ip.value >> BigInt(112 - 16 * i)) & 0xffffn)),
  );
}

/** The canonical text (as formatIp) of an IPv6 address given as its eight 16-bit groups. */
export function formatV6Groups(groups: readonly number[]): string {
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${formatV4(groups[6]! * 0x10000 + groups[7]!)}`;
  }
  let bestStart = -1;
  let bestLength = 1; // a single zero group is never compressed
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let end = i;
    while (end < 8 && groups[end] === 0) end++;
    if (end - i > bestLength) [bestStart, bestLength] = [i, end - i];
    i = end;
  }
  const hex = (gs: readonly number[]) => gs.map((g) => g.toString(16)).join(":");
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

function formatV4(u32: number): string {
  return [u32 >>> 24, (u32 >>> 16) & 0xff, (u32 >>> 8) & 0xff, u32 & 0xff].join(".");
}
