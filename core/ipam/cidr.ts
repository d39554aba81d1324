// CIDR prefixes (RFC 4632 / RFC 4291): an address and a prefix length, for both families.
//
// `parseCidr("10.0.0.5/24")` normalises rather than rejects: `.address` keeps what was written
// (10.0.0.5), `.network` has the host bits cleared (10.0.0.0), and everything else (`toString`,
// `equals`, `contains`, ranges) is about the network. Pass `{ strict: true }` where host bits are a
// mistake, e.g. validating a configured pool. Families never mix: an IPv4 CIDR contains no IPv6
// address, including the IPv4-mapped ::ffff:a.b.c.d.

import { InvalidCidrError, IpamError, quote } from "./errors.ts";
import { familyBits, Ip, type IpFamily, parseIpOrReason } from "./ip.ts";

export interface ParseCidrOptions {
  /** Reject host bits set after the prefix ("10.0.0.5/24") instead of clearing them. */
  strict?: boolean;
}

/** An immutable prefix. Compare with `equals()`, not `===`. */
export class Cidr {
  readonly family: IpFamily;
  /** The network address: `address` with the host bits cleared. */
  readonly network: Ip;

  /** Throws InvalidCidrError unless `prefixLength` is an integer 0-32 (IPv4) or 0-128 (IPv6). */
  constructor(readonly address: Ip, readonly prefixLength: number) {
    this.family = address.family;
    const problem = prefixLengthProblem(address.family, prefixLength);
    if (problem) throw new InvalidCidrError(`${address}/${prefixLength}`, problem);
    this.network = new Ip(this.family, address.value & ~(this.size - 1n));
  }

  /** Bits after the prefix: 8 for 10.0.0.0/24, 0 for a /32 or /128. */
  get hostBits(): number {
    return familyBits(this.family) - this.prefixLength;
  }

  /** Number of addresses, network and broadcast included: 256n for a /24, 2n ** 128n for ::/0. */
  get size(): bigint {
    return 1n << BigInt(this.hostBits);
  }

  /** Whether `ip` is in this prefix; false for the other family. */
  contains(ip: Ip): boolean {
    const shift = BigInt(this.hostBits);
    return ip.family === this.family && ip.value >> shift === this.network.value >> shift;
  }

  /** Whether every address of `other` is in this prefix (a prefix contains itself). */
  containsCidr(other: Cidr): boolean {
    return other.prefixLength >= this.prefixLength && this.contains(other.network);
  }

  /** Whether the two prefixes share any address (prefixes either nest or are disjoint). */
  overlaps(other: Cidr): boolean {
    return this.containsCidr(other) || other.containsCidr(this);
  }

  /** The network address. */
  first(): Ip {
    return this.network;
  }

  /** The highest address (the IPv4 broadcast address). */
  last(): Ip {
    return new Ip(this.family, this.network.value + this.size - 1n);
  }

  /** The address `index` places after the network: nth(0) is the network, nth(size-1) the last. */
  nth(index: number | bigint): Ip {
    const i = typeof index === "bigint" ? index : Number.isSafeInteger(index) ? BigInt(index) : -1n;
    if (i < 0n || i >= this.size) {
      throw new IpamError(
        `Index ${quote(index)} is out of range for ${quote(this)}: must be 0 to ${this.size - 1n}`,
      );
    }
    return new Ip(this.family, this.network.value + i);
  }

  /** Inverse of `nth`: how far `ip` is from the network address; an IpamError if outside. */
  offsetOf(ip: Ip): bigint {
    if (!this.contains(ip)) throw new IpamError(`Address ${quote(ip)} is outside ${quote(this)}`);
    return ip.value - this.network.value;
  }

  /** Same family, prefix length and network (the address as written is ignored). */
  equals(other: Cidr): boolean {
    return this.prefixLength === other.prefixLength && this.network.equals(other.network);
  }

  /** Canonical text of the network: "10.0.0.0/24", "fd00::/64". */
  toString(): string {
    return `${this.network}/${this.prefixLength}`;
  }

  toJSON(): string {
    return this.toString();
  }
}

/** Parses "address/length"; throws InvalidCidrError with the reason. See the header on host bits. */
export function parseCidr(text: string, options: ParseCidrOptions = {}): Cidr {
  const result = parseCidrOrReason(text, options);
  if (typeof result === "string") throw new InvalidCidrError(text, result);
  return result;
}

/** Like `parseCidr` but returns undefined for invalid text. */
export function tryParseCidr(text: string, options: ParseCidrOptions = {}): Cidr | undefined {
  const result = parseCidrOrReason(text, options);
  return typeof result === "string" ? undefined : result;
}

/** The parsed CIDR, or why `text` is not one (the detail of an InvalidCidrError). */
export function parseCidrOrReason(text: string, options: ParseCidrOptions = {}): Cidr | string {
  if (typeof text !== "string") return "not a string";
  if (text === "") return "empty string";
  const slash = text.indexOf("/");
  if (slash < 0) return `missing "/prefix-length"`;
  if (slash === 0) return `missing the address before "/"`;
  const address = parseIpOrReason(text.slice(0, slash));
  if (typeof address === "string") return address;
  const lengthText = text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lengthText)) {
    return `prefix length ${quote(lengthText)} is not a decimal number without leading zeros`;
  }
  const problem = prefixLengthProblem(address.family, Number(lengthText));
  if (problem) return problem;
  const cidr = new Cidr(address, Number(lengthText));
  if (options.strict && !cidr.address.equals(cidr.network)) {
    return `host bits are set after the prefix (did you mean ${quote(cidr)}?)`;
  }
  return cidr;
}

function prefixLengthProblem(family: IpFamily, length: number): string | undefined {
  const bits = familyBits(family);
  if (Number.isInteger(length) && length >= 0 && length <= bits) return undefined;
  return `prefix length must be 0-${bits} for IPv${family}`;
}
