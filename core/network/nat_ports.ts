// The SNAT port range (networking.natPortMin/Max) against the kernel's ephemeral range
// (net.ipv4.ip_local_port_range of the node's network namespace): the node's own connections
// take their ports from there without asking the datapath, so a translation that got the same
// port towards the same destination would take their replies (bpf/lib/nat.h).

/** Why the NAT range and the kernel's ephemeral range `procText` ("MIN\tMAX") clash, if they do. */
export function natPortsClash(procText: string, min: number, max: number): string | undefined {
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(procText);
  if (!m) return undefined;
  const [lo, hi] = [Number(m[1]), Number(m[2])];
  if (max < lo || min > hi) return undefined;
  return `networking.natPortMin-natPortMax (${min}-${max}) overlaps the kernel's ephemeral ports ` +
    `(net.ipv4.ip_local_port_range ${lo}-${hi}): the node's own connections can lose replies ` +
    `to translated flows; move one of the ranges`;
}
