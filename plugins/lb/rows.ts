// One frontend as map entries: its frontend entry, its slots, its backends, its source ranges and
// its Maglev table, with the ids the datapath knows them by; and a fingerprint of everything
// those entries depend on, so the writer can tell an unchanged frontend in microseconds.
import { addrWords, addrWordsOf } from "../../core/datapath/addr.ts";
import { parseCidr } from "../../core/ipam/mod.ts";
import type { Frontend, LbProblem } from "./frontends.ts";
import {
  LB_BE_F,
  LB_FE,
  type LbBackend,
  type LbFrontend,
  type LbFrontendKey,
  type LbSlotKey,
  type LbSourceRangeKey,
} from "./generated/lb.ts";
import type { IdAllocator } from "./ids.ts";
import { maglevTable } from "./maglev.ts";

export const IPPROTO: Record<string, number> = { TCP: 6, UDP: 17, SCTP: 132 };
/** LB_SOURCE_PREFIX_BASE in bpf/lib/lb.h: frontend id, family and padding. */
const SOURCE_PREFIX_BASE = 64;

/** A port in network order as the generated (little-endian) u16 codec reads it. */
export function netPort(port: number): number {
  return ((port & 0xff) << 8) | (port >> 8);
}

export interface FrontendRows {
  /** Frontend.key */
  key: string;
  fingerprint: string;
  id: number;
  frontend: [LbFrontendKey, LbFrontend];
  slots: Array<[LbSlotKey, number]>;
  /** Every backend of the frontend (active or not), by id. */
  backends: Array<[number, LbBackend]>;
  /** `<ip>|<port>|<protocol>` of the backends, for the id allocator. */
  backendKeys: string[];
  ranges: Array<[LbSourceRangeKey, number]>;
  /** The Maglev table (backend ids), when the frontend balances by Maglev. */
  maglev: Uint32Array | null;
  /** Wanted a Maglev table but none was free: balanced at random until one is. */
  maglevDenied: boolean;
  problems: LbProblem[];
}

/** Everything a frontend's entries depend on, as one string. */
export function fingerprint(fe: Frontend): string {
  let s = `${fe.key}|${fe.external}|${fe.socket}|${fe.trafficPolicy}|${fe.algorithm}|` +
    `${fe.affinityTimeoutSeconds}|${fe.dropWhenEmpty}|${fe.sourceRanges.join(",")}`;
  for (const b of fe.backends) {
    s += `|${b.ip}:${b.port}${b.active ? "a" : ""}${b.terminating ? "t" : ""}${b.local ? "l" : ""}`;
  }
  return s;
}

export interface RowContext {
  frontendIds: IdAllocator;
  backendIds: IdAllocator;
  /** Address text -> map words (cached: the same addresses come back on every apply). */
  addr(ip: string): number[];
  maglevM: number;
  seed: string;
  /** Whether frontend `id` may have a Maglev table (the outer map's capacity); asked once. */
  maglevRoom(id: number): boolean;
  maglevCapacity: number;
}

/** Whether the frontend balances through a Maglev table of `m` entries (else at random). */
export function wantsMaglev(fe: Frontend, m: number): boolean {
  if (fe.algorithm !== "maglev") return false;
  let active = 0;
  for (const b of fe.backends) if (b.active) active++;
  return active > 0 && active < m;
}

export function frontendRows(fe: Frontend, ctx: RowContext, fp = fingerprint(fe)): FrontendRows {
  const id = ctx.frontendIds.idFor(fe.key);
  const problems: LbProblem[] = [];
  const backends: Array<[number, LbBackend]> = [];
  const backendKeys: string[] = [];
  const active: number[] = [];
  const activeNames: string[] = [];
  for (const b of fe.backends) {
    const bKey = `${b.ip}|${b.port}|${b.protocol}`;
    const bId = ctx.backendIds.idFor(bKey);
    backendKeys.push(bKey);
    backends.push([bId, {
      addr: ctx.addr(b.ip),
      port: netPort(b.port),
      proto: IPPROTO[b.protocol]!,
      family: b.family,
      flags: (b.terminating ? LB_BE_F.TERMINATING : 0) | (b.local ? LB_BE_F.LOCAL : 0),
    }]);
    if (b.active) {
      active.push(bId);
      activeNames.push(`${b.ip}:${b.port}`);
    }
  }
  let maglev: Uint32Array | null = null;
  let maglevDenied = false;
  if (fe.algorithm === "maglev" && active.length) {
    const problem = (message: string) =>
      problems.push({ object: `Service ${fe.service}`, path: fe.key, message });
    if (active.length >= ctx.maglevM) {
      problem(
        `${active.length} backends do not fit a Maglev table of ${ctx.maglevM}: balanced at random`,
      );
    } else if (!ctx.maglevRoom(id)) {
      maglevDenied = true;
      problem(`Maglev tables are full (${ctx.maglevCapacity}): balanced at random`);
    } else {
      const table = maglevTable(activeNames, ctx.maglevM, ctx.seed);
      maglev = new Uint32Array(table.length);
      for (let i = 0; i < table.length; i++) maglev[i] = active[table[i]!]!;
    }
  }
  const flags = (fe.external ? LB_FE.EXTERNAL : 0) | (fe.socket ? LB_FE.SOCKET : 0) |
    (fe.trafficPolicy === "Local" ? LB_FE.LOCAL : 0) |
    (fe.affinityTimeoutSeconds !== undefined ? LB_FE.AFFINITY : 0) |
    (maglev ? LB_FE.MAGLEV : 0) | (fe.sourceRanges.length ? LB_FE.SOURCE_RANGES : 0) |
    (fe.dropWhenEmpty && active.length === 0 ? LB_FE.DROP_EMPTY : 0);
  return {
    key: fe.key,
    fingerprint: fp,
    id,
    frontend: [
      {
        addr: ctx.addr(fe.ip),
        port: netPort(fe.port),
        proto: IPPROTO[fe.protocol]!,
        family: fe.family,
      },
      { id, count: active.length, flags, affinity_timeout: fe.affinityTimeoutSeconds ?? 0 },
    ],
    slots: active.map((bId, i) => [{ frontend: id, slot: i + 1 }, bId]),
    backends,
    backendKeys,
    ranges: fe.sourceRanges.map((r) => {
      const cidr = parseCidr(r);
      return [{
        prefixlen: SOURCE_PREFIX_BASE + cidr.prefixLength,
        frontend: id,
        family: cidr.address.family,
        addr: addrWords(cidr.address),
      }, 1];
    }),
    maglev,
    maglevDenied,
    problems,
  };
}

/** An address cache for RowContext.addr: keeps only what an apply used. */
export class AddressWords {
  #words = new Map<string, number[]>();
  #used = new Map<string, number[]>();

  get(ip: string): number[] {
    let w = this.#used.get(ip) ?? this.#words.get(ip);
    if (!w) w = addrWordsOf(ip);
    this.#used.set(ip, w);
    return w;
  }

  /** Ends an apply: addresses it did not use are forgotten. */
  roll(): void {
    this.#words = this.#used;
    this.#used = new Map();
  }
}
