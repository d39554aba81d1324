// Pod IP allocation inside one node pod CIDR.
//
// Never handed out: the network address, the first address after it (the node's router/gateway,
// `.router`), the IPv4 broadcast address (the last one) and any `reserved` addresses. IPv6 has no
// broadcast, so its last address is allocatable.
//
// Next-fit: `allocate` continues after the address it handed out last and wraps to the start, so
// a just-released IP is not reused until the rest of the range has been used. That keeps a
// deleted pod's IP away from a new pod while stale conntrack entries, neighbour caches or other
// nodes' caches still point at it. Each call skips only taken addresses, so filling a range is
// amortised O(1) per address; state is a Map of allocations, never a scan of the whole range.
//
// Persistence: `snapshot()` is plain JSON ({cidr, allocations: {ip: owner}}) and `restore()`
// validates all of it before replacing anything.

import { type Cidr, parseCidrOrReason } from "./cidr.ts";
import { checkOwner, IpamConflictError, IpamError, IpamExhaustedError, quote } from "./errors.ts";
import { type Ip, parseIpOrReason } from "./ip.ts";

export interface IpAllocatorOptions {
  /** Addresses inside the CIDR never to hand out (e.g. a DNS or health-check address). */
  reserved?: readonly Ip[];
}

/** The persisted form: canonical address text -> owner, lowest address first. */
export interface IpAllocatorSnapshot {
  cidr: string;
  allocations: Record<string, string>;
}

/** Longest prefix per family that leaves at least one allocatable address. */
const MAX_PREFIX = { 4: 30, 6: 126 } as const;

export class IpAllocator {
  /** The node's router/gateway address: the first address after the network address. */
  readonly router: Ip;
  /** How many addresses can be handed out in total. */
  readonly capacity: bigint;
  /** Offsets (from the network address) of the first and last allocatable addresses. */
  readonly #first = 2n;
  readonly #last: bigint;
  readonly #reserved = new Set<bigint>();
  #owners = new Map<bigint, string>();
  #byOwner = new Map<string, Set<bigint>>();
  /** Where the next `allocate` starts looking. */
  #cursor = 2n;

  /** Throws an IpamError for a CIDR too small to hold a pod, or a reserved address outside it. */
  constructor(readonly cidr: Cidr, options: IpAllocatorOptions = {}) {
    const max = MAX_PREFIX[cidr.family];
    if (cidr.prefixLength > max) {
      throw new IpamError(
        `Invalid pod CIDR ${quote(cidr)}: prefix length must be at most ${max} for ` +
          `IPv${cidr.family} to leave an address after ${this.#neverAllocated()}`,
      );
    }
    this.router = cidr.nth(1);
    this.#last = cidr.family === 4 ? cidr.size - 2n : cidr.size - 1n;
    for (const ip of options.reserved ?? []) {
      if (!cidr.contains(ip)) {
        throw new IpamError(`Invalid reserved address ${quote(ip)}: outside ${quote(cidr)}`);
      }
      const offset = cidr.offsetOf(ip);
      if (offset >= this.#first && offset <= this.#last) this.#reserved.add(offset);
    }
    this.capacity = this.#last - this.#first + 1n - BigInt(this.#reserved.size);
  }

  /** Addresses currently allocated. */
  get used(): number {
    return this.#owners.size;
  }

  /** Addresses that can still be allocated. */
  get available(): bigint {
    return this.capacity - BigInt(this.#owners.size);
  }

  /** The next free address after the last one allocated (see the header); IpamExhaustedError. */
  allocate(owner: string): Ip {
    checkOwner(owner);
    if (this.available === 0n) {
      throw new IpamExhaustedError(
        this.cidr.toString(),
        this.capacity,
        "address",
        `all ${this.capacity} allocatable addresses are in use (the CIDR has ${this.cidr.size}; ` +
          `${this.#neverAllocated()} are never allocated)`,
      );
    }
    let offset = this.#cursor;
    for (;;) {
      if (offset > this.#last) offset = this.#first;
      if (!this.#owners.has(offset) && !this.#reserved.has(offset)) break;
      offset++;
    }
    this.#cursor = offset + 1n;
    this.#set(offset, owner);
    return this.cidr.nth(offset);
  }

  /**
   * Allocates exactly `ip` (e.g. a pod that asks for a static address). Idempotent for the same
   * owner; IpamConflictError if another owner holds it; IpamError if it is outside the CIDR or
   * never allocatable. Does not move the next-fit cursor.
   */
  allocateSpecific(ip: Ip, owner: string): Ip {
    checkOwner(owner);
    const what = `Cannot allocate ${quote(ip)} to ${quote(owner)}`;
    const offset = this.#offsetOrReason(ip);
    if (typeof offset === "string") throw new IpamError(`${what}: ${offset}`);
    const current = this.#owners.get(offset);
    if (current !== undefined && current !== owner) {
      throw new IpamConflictError(`${what}: it is already allocated to ${quote(current)}`, current);
    }
    this.#set(offset, owner);
    return this.cidr.nth(offset);
  }

  /** Frees `ip`; false if it was not allocated (releasing is idempotent). */
  release(ip: Ip): boolean {
    if (!this.cidr.contains(ip)) return false;
    const offset = this.cidr.offsetOf(ip);
    const owner = this.#owners.get(offset);
    if (owner === undefined) return false;
    this.#owners.delete(offset);
    const mine = this.#byOwner.get(owner);
    mine?.delete(offset);
    if (mine?.size === 0) this.#byOwner.delete(owner);
    return true;
  }

  /** Frees every address `owner` holds and returns them, lowest first. */
  releaseOwner(owner: string): Ip[] {
    const released = this.addressesOf(owner);
    for (const ip of released) this.release(ip);
    return released;
  }

  /** Who holds `ip`, or undefined. */
  owner(ip: Ip): string | undefined {
    return this.cidr.contains(ip) ? this.#owners.get(this.cidr.offsetOf(ip)) : undefined;
  }

  /** The addresses `owner` holds, lowest first. */
  addressesOf(owner: string): Ip[] {
    return sorted(this.#byOwner.get(owner) ?? []).map((offset) => this.cidr.nth(offset));
  }

  /** Plain JSON of every allocation, lowest address first. */
  snapshot(): IpAllocatorSnapshot {
    const allocations: Record<string, string> = {};
    for (const offset of sorted(this.#owners.keys())) {
      allocations[this.cidr.nth(offset).toString()] = this.#owners.get(offset) ?? "";
    }
    return { cidr: this.cidr.toString(), allocations };
  }

  /**
   * Replaces all allocations with those of `snapshot` (e.g. parsed JSON after a restart). Checks
   * everything first and throws an IpamError naming the first bad entry, leaving the state as it
   * was. The next-fit cursor resumes after the highest restored address.
   */
  restore(snapshot: unknown): void {
    const bad = (detail: string) => new IpamError(`Invalid IPAM snapshot: ${detail}`);
    if (typeof snapshot !== "object" || snapshot === null) {
      throw bad(`expected an object {cidr, allocations}, got ${show(snapshot)}`);
    }
    const { cidr, allocations } = snapshot as Record<string, unknown>;
    if (typeof cidr !== "string") throw bad(`"cidr" must be a string`);
    if (typeof allocations !== "object" || allocations === null || Array.isArray(allocations)) {
      throw bad(`"allocations" must be an object of address -> owner`);
    }
    const parsed = parseCidrOrReason(cidr);
    if (typeof parsed === "string") throw bad(`cidr ${quote(cidr)} is not a CIDR: ${parsed}`);
    if (!parsed.equals(this.cidr)) {
      throw bad(`cidr ${quote(cidr)} does not match this allocator's ${quote(this.cidr)}`);
    }
    const owners = new Map<bigint, string>();
    const byOwner = new Map<string, Set<bigint>>();
    for (const [text, owner] of Object.entries(allocations)) {
      const entry = (detail: string) =>
        new IpamError(`Invalid IPAM snapshot entry ${quote(text)}: ${detail}`);
      const ip = parseIpOrReason(text);
      if (typeof ip === "string") throw entry(ip);
      const offset = this.#offsetOrReason(ip);
      if (typeof offset === "string") throw entry(offset);
      if (typeof owner !== "string" || owner === "") {
        throw entry(`owner ${show(owner)} must be a non-empty string`);
      }
      if (owners.has(offset)) throw entry(`the same address appears twice`);
      owners.set(offset, owner);
      byOwner.set(owner, (byOwner.get(owner) ?? new Set()).add(offset));
    }
    this.#owners = owners;
    this.#byOwner = byOwner;
    const highest = sorted(owners.keys()).at(-1);
    this.#cursor = highest === undefined ? this.#first : highest + 1n;
  }

  /** "the network, router and broadcast addresses and 2 reserved addresses" */
  #neverAllocated(): string {
    const fixed = this.cidr.family === 4
      ? "the network, router and broadcast addresses"
      : "the network and router addresses";
    const n = this.#reserved.size;
    return n === 0 ? fixed : `${fixed} and ${n} reserved address${n === 1 ? "" : "es"}`;
  }

  /** The offset of an allocatable `ip`, or why it can never be allocated. */
  #offsetOrReason(ip: Ip): bigint | string {
    if (!this.cidr.contains(ip)) return `outside ${quote(this.cidr)}`;
    const offset = this.cidr.offsetOf(ip);
    if (offset === 0n) return "it is the network address";
    if (offset === 1n) return "it is the router address";
    if (offset > this.#last) return "it is the broadcast address";
    if (this.#reserved.has(offset)) return "it is reserved";
    return offset;
  }

  #set(offset: bigint, owner: string): void {
    this.#owners.set(offset, owner);
    const mine = this.#byOwner.get(owner);
    if (mine) mine.add(offset);
    else this.#byOwner.set(owner, new Set([offset]));
  }
}

/** JSON text of a value from a parsed snapshot: `"x"`, `7`, `null`. */
function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

function sorted(offsets: Iterable<bigint>): bigint[] {
  return [...offsets].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
