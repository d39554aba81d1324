// Port ranges as prefixes: the policy map is an LPM trie over the 16 port bits, so a range
// [from, to] becomes the fewest aligned blocks (value, prefix length) that cover it exactly.

export interface PortPrefix {
  /** First port of the block. */
  port: number;
  /** Leading port bits that must match: 16 = exactly `port`, 0 = every port. */
  bits: number;
}

export function portRangePrefixes(from: number, to: number): PortPrefix[] {
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > 65535 || from > to) {
    throw new Error(`Invalid port range ${from}-${to}: want 0 <= from <= to <= 65535`);
  }
  const out: PortPrefix[] = [];
  let p = from;
  while (p <= to) {
    // the largest aligned block starting at p that stays within the range
    let size = 1;
    while (size < 65536 && p % (size * 2) === 0 && p + size * 2 - 1 <= to) size *= 2;
    out.push({ port: p, bits: 16 - Math.log2(size) });
    p += size;
  }
  return out;
}

/** Whether block `outer` contains block `inner`. */
export function prefixContains(outer: PortPrefix, inner: PortPrefix): boolean {
  if (outer.bits > inner.bits) return false;
  const shift = 16 - outer.bits;
  return outer.bits === 0 || (outer.port >>> shift) === (inner.port >>> shift);
}
