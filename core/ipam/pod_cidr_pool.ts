// The cluster pod CIDR pool, cut into equal node pod CIDRs (one or more per node).
//
// A pool such as 10.244.0.0/16 with node mask size 24 holds 256 node CIDRs, numbered from 0 at
// the pool's network address: index i is 10.244.i.0/24. The numbering is pure (`nthNodeCidr`,
// `nodeCidrIndex`), so a distributed store can allocate by compare-and-swap on the index, and
// `PodCidrPool` is the in-memory bookkeeping on top.
//
// Limits on the node mask size: at least the pool's prefix length, and it must leave a node at
// least 2 host bits for IPv4 (mask <= 30: network, router, broadcast and one pod) and 8 host bits
// for IPv6 (mask <= 120: 255 pods; real deployments use /64 to /112).

import { Cidr } from "./cidr.ts";
import { checkOwner, IpamConflictError, IpamError, IpamExhaustedError, quote } from "./errors.ts";
import { familyBits, Ip, type IpFamily } from "./ip.ts";

/** Host bits a node CIDR must keep, per family (see the header). */
export const MIN_NODE_HOST_BITS: Readonly<Record<IpFamily, number>> = { 4: 2, 6: 8 };

/** How many node CIDRs of `/maskSize` fit in `pool`: 2^(maskSize - prefixLength). */
export function nodeCidrCount(pool: Cidr, maskSize: number): bigint {
  checkMaskSize(pool, maskSize);
  return 1n << BigInt(maskSize - pool.prefixLength);
}

/** The node CIDR with number `index` (0-based, in address order); an IpamError if out of range. */
export function nthNodeCidr(pool: Cidr, maskSize: number, index: number | bigint): Cidr {
  const count = nodeCidrCount(pool, maskSize);
  const i = typeof index === "bigint" ? index : Number.isSafeInteger(index) ? BigInt(index) : -1n;
  if (i < 0n || i >= count) {
    throw new IpamError(
      `Node CIDR index ${quote(index)} is out of range for ${quote(pool)} with /${maskSize}: ` +
        `must be 0 to ${count - 1n}`,
    );
  }
  const shift = BigInt(familyBits(pool.family) - maskSize);
  return new Cidr(new Ip(pool.family, pool.network.value + (i << shift)), maskSize);
}

/** Inverse of `nthNodeCidr`; an IpamError if `cidr` is not one of the pool's node CIDRs. */
export function nodeCidrIndex(pool: Cidr, maskSize: number, cidr: Cidr): bigint {
  checkMaskSize(pool, maskSize);
  const result = locate(pool, maskSize, cidr);
  if (typeof result === "string") {
    throw new IpamError(`${quote(written(cidr))} is not a node CIDR of ${quote(pool)}: ${result}`);
  }
  return result;
}

/** The index of `cidr`, or why it is not a node CIDR of the pool. */
function locate(pool: Cidr, maskSize: number, cidr: Cidr): bigint | string {
  if (cidr.family !== pool.family) return `it is IPv${cidr.family}, the pool is IPv${pool.family}`;
  if (!pool.containsCidr(cidr)) {
    return pool.overlaps(cidr) ? "it is larger than the pool" : "it is outside the pool";
  }
  if (cidr.prefixLength !== maskSize) {
    return `its prefix length is /${cidr.prefixLength}, node CIDRs are /${maskSize}`;
  }
  if (!cidr.address.equals(cidr.network)) {
    return `it is misaligned: host bits are set (did you mean ${quote(cidr)}?)`;
  }
  return (cidr.network.value - pool.network.value) >> BigInt(cidr.hostBits);
}

/** "10.0.0.5/24" as written, where `toString()` would already have cleared the host bits. */
function written(cidr: Cidr): string {
  return `${cidr.address}/${cidr.prefixLength}`;
}

function checkMaskSize(pool: Cidr, maskSize: number): void {
  const bits = familyBits(pool.family);
  const max = bits - (MIN_NODE_HOST_BITS[pool.family]);
  const why = `a node CIDR needs at least ${MIN_NODE_HOST_BITS[pool.family]} host bits`;
  if (pool.prefixLength > max) {
    throw new IpamError(
      `Invalid pod CIDR pool ${quote(pool)}: prefix length must be at most ${max} for ` +
        `IPv${pool.family} (${why})`,
    );
  }
  if (!Number.isInteger(maskSize) || maskSize < pool.prefixLength || maskSize > max) {
    throw new IpamError(
      `Invalid node mask size ${quote(maskSize)} for pool ${quote(pool)}: must be ` +
        `${pool.prefixLength}-${max} (at least the pool's prefix length; ${why})`,
    );
  }
}

/**
 * In-memory allocation of node CIDRs to owners (node names). Deterministic: `allocate` always
 * hands out the lowest free index, so the same sequence of calls gives the same CIDRs.
 */
export class PodCidrPool {
  /** How many node CIDRs the pool holds. */
  readonly capacity: bigint;
  readonly #owners = new Map<bigint, string>();
  /** No index below this is free: a lower bound that makes `allocate` amortised O(1). */
  #lowestFree = 0n;

  /** Throws an IpamError when `maskSize` breaks the limits in the header. */
  constructor(readonly pool: Cidr, readonly maskSize: number) {
    this.capacity = nodeCidrCount(pool, maskSize);
  }

  /** Node CIDRs allocated or claimed. */
  get used(): number {
    return this.#owners.size;
  }

  /** Node CIDRs still free. */
  get free(): bigint {
    return this.capacity - BigInt(this.#owners.size);
  }

  /**
   * Allocates a new node CIDR to `owner` (every call allocates another; an owner may hold several).
   * `preferred` is taken when free (or already `owner`'s, which is then returned as is) and is
   * otherwise a hint: if someone else holds it, the lowest free CIDR is allocated instead. A
   * `preferred` that is not a node CIDR of this pool is an IpamError. Throws IpamExhaustedError
   * when nothing is free.
   */
  allocate(owner: string, preferred?: Cidr): Cidr {
    checkOwner(owner);
    if (preferred) {
      const index = locate(this.pool, this.maskSize, preferred);
      if (typeof index === "string") {
        throw new IpamError(
          `Cannot allocate preferred ${quote(written(preferred))} to ${quote(owner)}: ${index}`,
        );
      }
      const current = this.#owners.get(index);
      if (current === undefined || current === owner) return this.#take(index, owner);
    }
    if (this.free === 0n) {
      throw new IpamExhaustedError(
        this.pool.toString(),
        this.capacity,
        "node CIDR",
        `all ${this.capacity} /${this.maskSize} node CIDRs are allocated ` +
          `(use a larger pool or a longer node mask size)`,
      );
    }
    let index = this.#lowestFree;
    while (this.#owners.has(index)) index++;
    this.#lowestFree = index + 1n;
    return this.#take(index, owner);
  }

  /**
   * Records an allocation that already exists (restored from a store, or made by another agent).
   * Idempotent for the same owner; IpamConflictError if another owner holds it, IpamError if
   * `cidr` is outside the pool, of the wrong size or misaligned.
   */
  claim(owner: string, cidr: Cidr): Cidr {
    checkOwner(owner);
    const index = locate(this.pool, this.maskSize, cidr);
    const what = `Cannot claim ${quote(written(cidr))} for ${quote(owner)}`;
    if (typeof index === "string") throw new IpamError(`${what}: ${index}`);
    const current = this.#owners.get(index);
    if (current !== undefined && current !== owner) {
      throw new IpamConflictError(`${what}: it is already allocated to ${quote(current)}`, current);
    }
    return this.#take(index, owner);
  }

  /** Frees `cidr`; false if it was not allocated (or is not a node CIDR of this pool). */
  release(cidr: Cidr): boolean {
    const index = locate(this.pool, this.maskSize, cidr);
    if (typeof index === "string" || !this.#owners.delete(index)) return false;
    if (index < this.#lowestFree) this.#lowestFree = index;
    return true;
  }

  /** Who holds `cidr`, or undefined when it is free or not a node CIDR of this pool. */
  ownerOf(cidr: Cidr): string | undefined {
    const index = locate(this.pool, this.maskSize, cidr);
    return typeof index === "string" ? undefined : this.#owners.get(index);
  }

  /** The node CIDRs `owner` holds, lowest first. */
  cidrsOf(owner: string): Cidr[] {
    return this.allocations().filter((a) => a.owner === owner).map((a) => a.cidr);
  }

  /** Every allocation, lowest CIDR first (e.g. to write them to a store). */
  allocations(): Array<{ cidr: Cidr; owner: string }> {
    return [...this.#owners].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([index, owner]) => ({ cidr: nthNodeCidr(this.pool, this.maskSize, index), owner }));
  }

  #take(index: bigint, owner: string): Cidr {
    this.#owners.set(index, owner);
    return nthNodeCidr(this.pool, this.maskSize, index);
  }
}
