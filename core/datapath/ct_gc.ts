// Garbage collection of conntrack and NAT entries. The datapath stamps every entry with an
// expiry (CLOCK_BOOTTIME ns, bpf/lib/conntrack.h); the agent deletes the expired ones every
// interval so short-lived flows do not push live ones out of the LRU maps. A NAT translation is
// a pair of entries (outbound and reply); the pair goes only when both halves have expired, so
// a one-way flow that keeps refreshing one half never loses the other.
import { bootTimeNs, type BpfMap } from "../bpf/mod.ts";
import type { CtEntry, CtKey, NatEntry } from "../bpf/generated/host.ts";

export interface GcResult {
  conntrack: { scanned: number; deleted: number };
  nat: { scanned: number; deleted: number };
}

/** The reply-side key of an outbound NAT entry (and the reverse): see bpf/lib/nat.h. */
function partnerKey(k: CtKey, v: NatEntry): CtKey {
  const ingress = k.dir === 1;
  return ingress
    ? { ...k, saddr: v.to_addr, daddr: k.saddr, sport: v.to_port, dport: k.sport, dir: 0 }
    : { ...k, saddr: k.daddr, daddr: v.to_addr, sport: k.dport, dport: v.to_port, dir: 1 };
}

export function collectExpired(
  ct: BpfMap<CtKey, CtEntry>,
  nat: BpfMap<CtKey, NatEntry>,
  now: bigint = bootTimeNs(),
): GcResult {
  const result: GcResult = {
    conntrack: { scanned: 0, deleted: 0 },
    nat: { scanned: 0, deleted: 0 },
  };
  const expiredCt: CtKey[] = [];
  for (const [k, v] of ct.entries()) {
    result.conntrack.scanned++;
    if (v.expires < now) expiredCt.push(k);
  }
  for (const k of expiredCt) if (ct.delete(k)) result.conntrack.deleted++;

  const entries = new Map<string, [CtKey, NatEntry]>();
  for (const [k, v] of nat.entries()) entries.set(JSON.stringify(k), [k, v]);
  result.nat.scanned = entries.size;
  const gone = new Set<string>();
  for (const [id, [k, v]] of entries) {
    if (gone.has(id) || v.expires >= now) continue;
    const pid = JSON.stringify(partnerKey(k, v));
    const partner = entries.get(pid);
    if (partner && partner[1].expires >= now) continue; // the other half is alive
    for (const [key, keyId] of [[k, id], ...(partner ? [[partner[0], pid]] : [])] as const) {
      if (nat.delete(key as CtKey)) result.nat.deleted++;
      gone.add(keyId as string);
    }
  }
  return result;
}
