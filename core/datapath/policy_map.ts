// Writing endpoint policies into hypha_policy (bpf/lib/policy.h). Each endpoint has two
// generations; the active one is named in its endpoint map entry. A new policy goes into the
// inactive generation, the caller flips the endpoint entry, then the old generation is cleared:
// the datapath sees the old policy or the new one, never a mix (make-before-break).
import type { BpfMap } from "../bpf/mod.ts";
import type { PolicyEntry as MapValue, PolicyKey } from "../bpf/generated/host.ts";
import type { DirectionPolicy, EndpointPolicy, PolicyEntry } from "../policy/compute.ts";

/** Key bits always matched (endpoint, generation, direction, identity): POLICY_PREFIX_FIXED. */
const PREFIX_FIXED = 64;
/** ... plus protocol and padding: POLICY_PREFIX_PROTO. */
const PREFIX_PROTO = 80;
const FLAG_DENY = 0x1;
const FLAG_AUDIT = 0x2;
/** enum ct_dir */
const DIRECTION = { egress: 0, ingress: 1 } as const;

/** A u16 in network byte order, as the little-endian codec reads it. */
const be16 = (port: number) => ((port & 0xff) << 8) | (port >>> 8);

function keyOf(endpoint: number, generation: number, dir: number, e: PolicyEntry): PolicyKey {
  const any = e.protocol === 0;
  return {
    prefixlen: any ? PREFIX_FIXED : PREFIX_PROTO + e.bits,
    endpoint,
    generation,
    direction: dir,
    identity: e.identity,
    protocol: any ? 0 : e.protocol,
    dport: any ? 0 : be16(e.port),
  };
}

export interface PolicyWriteResult {
  written: number;
  deleted: number;
}

export class PolicyMap {
  readonly #map: BpfMap<PolicyKey, MapValue>;

  constructor(map: BpfMap<PolicyKey, MapValue>) {
    this.#map = map;
  }

  /** The rows an endpoint policy becomes under `generation`, by key text. */
  rows(
    endpoint: number,
    generation: number,
    policy: EndpointPolicy,
    ruleId: (e: PolicyEntry) => number,
  ): Map<string, [PolicyKey, MapValue]> {
    const out = new Map<string, [PolicyKey, MapValue]>();
    const add = (dir: number, d: DirectionPolicy) => {
      for (const e of d.entries) {
        const key = keyOf(endpoint, generation, dir, e);
        out.set(JSON.stringify(key), [key, {
          flags: (e.deny ? FLAG_DENY : 0) | (e.deny && e.audit ? FLAG_AUDIT : 0),
          rule: ruleId(e),
          packets: 0n,
          bytes: 0n,
        }]);
      }
    };
    add(DIRECTION.ingress, policy.ingress);
    add(DIRECTION.egress, policy.egress);
    return out;
  }

  /** What the kernel holds now, grouped by endpoint and generation ("<ep>/<gen>"). */
  snapshot(): Map<string, Map<string, [PolicyKey, MapValue]>> {
    const out = new Map<string, Map<string, [PolicyKey, MapValue]>>();
    for (const [k, v] of this.#map.entries()) {
      const group = `${k.endpoint}/${k.generation}`;
      let rows = out.get(group);
      if (!rows) out.set(group, rows = new Map());
      rows.set(JSON.stringify(k), [k, v]);
    }
    return out;
  }

  /** Whether `have` (from the kernel) already says what `want` says (counters aside). */
  static same(
    have: ReadonlyMap<string, [PolicyKey, MapValue]> | undefined,
    want: ReadonlyMap<string, [PolicyKey, MapValue]>,
  ): boolean {
    if ((have?.size ?? 0) !== want.size) return false;
    for (const [k, [, v]] of want) {
      const h = have!.get(k)?.[1];
      if (!h || h.flags !== v.flags || h.rule !== v.rule) return false;
    }
    return true;
  }

  /** Writes `rows` (one generation of one endpoint) and removes what that generation had more. */
  replace(
    current: ReadonlyMap<string, [PolicyKey, MapValue]> | undefined,
    rows: ReadonlyMap<string, [PolicyKey, MapValue]>,
  ): PolicyWriteResult {
    let written = 0, deleted = 0;
    for (const [k, [key, value]] of rows) {
      const cur = current?.get(k)?.[1];
      if (cur && cur.flags === value.flags && cur.rule === value.rule) continue;
      this.#map.update(key, value);
      written++;
    }
    for (const [k, [key]] of current ?? []) {
      if (rows.has(k)) continue;
      this.#map.delete(key);
      deleted++;
    }
    return { written, deleted };
  }

  /** Removes every row of the given ones. */
  clear(rows: ReadonlyMap<string, [PolicyKey, MapValue]> | undefined): number {
    let n = 0;
    for (const [, [key]] of rows ?? []) {
      this.#map.delete(key);
      n++;
    }
    return n;
  }
}
