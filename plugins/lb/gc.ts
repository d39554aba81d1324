// Garbage collection of the load balancer's per-flow state: conntrack and reverse-translation
// entries past their expiry (CLOCK_BOOTTIME ns, stamped by the datapath), and affinity entries
// older than their frontend's timeout or of frontends that are gone. The maps are LRU, so this
// only keeps dead flows from pushing live ones out.
import { bootTimeNs } from "../../core/bpf/mod.ts";
import type { LbMaps } from "./datapath.ts";

export interface LbGcResult {
  scanned: number;
  deleted: number;
}

export function collectLbExpired(
  maps: Pick<LbMaps, "ct" | "rev" | "affinity">,
  affinityTimeout: (frontendId: number) => number | undefined,
  now: bigint = bootTimeNs(),
): LbGcResult {
  const result = { scanned: 0, deleted: 0 };
  for (const map of [maps.ct, maps.rev] as const) {
    const expired = [];
    for (const [k, v] of map.entries()) {
      result.scanned++;
      if (v.expires < now) expired.push(k);
    }
    for (const k of expired) if (map.delete(k)) result.deleted++;
  }
  const stale = [];
  for (const [k, v] of maps.affinity.entries()) {
    result.scanned++;
    const timeout = affinityTimeout(k.frontend);
    if (timeout === undefined || now - v.last_used > BigInt(timeout) * 1_000_000_000n) {
      stale.push(k);
    }
  }
  for (const k of stale) if (maps.affinity.delete(k)) result.deleted++;
  return result;
}
