// Writes the frontends this node serves into the load balancer's maps, make-before-break:
// backends, slots, Maglev tables and source ranges are added first, then the frontends (their
// slot counts and flags) switch over, and only then is what nothing uses any more deleted. So a
// packet never finds a frontend whose slots or table are missing. Maps are mirrored in memory
// (core/reconcile/cached_map.ts): a restarted agent whose services did not change writes nothing.
import { BpfMap, codec } from "../../core/bpf/mod.ts";
import { addrWords, wordsToIp } from "../../core/datapath/addr.ts";
import { type IpFamily, parseCidr, parseIp } from "../../core/ipam/mod.ts";
import { CachedMap } from "../../core/reconcile/cached_map.ts";
import type { ReconcileResult } from "../../core/reconcile/map_reconciler.ts";
import type { LbMaps } from "./datapath.ts";
import type { Frontend, LbProblem } from "./frontends.ts";
import {
  LB_BE_F,
  LB_CFG_F,
  LB_FE,
  type LbBackend,
  type LbFrontend,
  type LbFrontendKey,
  type LbSlotKey,
  type LbSourceRangeKey,
} from "./generated/lb.ts";
import { IdAllocator } from "./ids.ts";
import { maglevTable } from "./maglev.ts";

export const IPPROTO: Record<string, number> = { TCP: 6, UDP: 17, SCTP: 132 };
const PROTO_NAMES: Record<number, string> = { 6: "TCP", 17: "UDP", 132: "SCTP" };
/** BPF_F_INNER_MAP: inner maps of any size fit the outer map. */
const BPF_F_INNER_MAP = 1 << 12;
const BPF_MAP_TYPE_ARRAY = 2;
/** LB_SOURCE_PREFIX_BASE in bpf/lib/lb.h: frontend id, family and padding. */
const SOURCE_PREFIX_BASE = 64;
const MAX_SLOTS_PER_FRONTEND = 0xffff;

/** A port in network order as the generated (little-endian) u16 codec reads it. */
export function netPort(port: number): number {
  return ((port & 0xff) << 8) | (port >> 8);
}

export function frontendMapKey(ip: string, port: number, protocol: string): LbFrontendKey {
  const addr = parseIp(ip);
  return {
    addr: addrWords(addr),
    port: netPort(port),
    proto: IPPROTO[protocol]!,
    family: addr.family,
  };
}

/** `<ip>:<port>/<proto>` of a kernel frontend key (the Frontend.key format). */
export function frontendKeyText(k: LbFrontendKey): string {
  const ip = wordsToIp(k.addr, k.family as IpFamily).toString();
  const proto = PROTO_NAMES[k.proto] ?? String(k.proto);
  return `${k.family === 6 ? `[${ip}]` : ip}:${netPort(k.port)}/${proto}`;
}

export function backendKeyText(b: LbBackend): string {
  const ip = wordsToIp(b.addr, b.family as IpFamily).toString();
  return `${ip}|${netPort(b.port)}|${PROTO_NAMES[b.proto] ?? b.proto}`;
}

/** A 32-bit FNV-1a of a string: the datapath's per-flow hash seed. */
export function seedWord(seed: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(seed)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export interface WriterOptions {
  maglevM: number;
  seed: string;
  dsr: boolean;
}

export interface WriteReport {
  frontends: ReconcileResult;
  slots: ReconcileResult;
  backends: ReconcileResult;
  sourceRanges: ReconcileResult;
  maglev: { written: number; removed: number; unchanged: number };
  config: boolean;
  /** Frontends that did not fit (map capacity) or fell back to random, with why. */
  problems: LbProblem[];
  /** Milliseconds the apply took. */
  ms: number;
}

const id = (k: unknown) => JSON.stringify(k);

export class LbWriter {
  readonly #maps: LbMaps;
  readonly #opts: WriterOptions;
  readonly #frontends: CachedMap<LbFrontendKey, LbFrontend>;
  readonly #slots: CachedMap<LbSlotKey, number>;
  readonly #backends: CachedMap<number, LbBackend>;
  readonly #sourceRanges: CachedMap<LbSourceRangeKey, number>;
  readonly frontendIds = new IdAllocator();
  readonly backendIds = new IdAllocator();
  /** Frontend id -> the backend ids its Maglev table holds now (joined), as written. */
  readonly #maglev = new Map<number, string>();

  constructor(maps: LbMaps, opts: WriterOptions) {
    this.#maps = maps;
    this.#opts = opts;
    this.#frontends = new CachedMap(maps.frontends, frontendKeyText);
    this.#slots = new CachedMap(maps.slots, id);
    this.#backends = new CachedMap(maps.backends, String);
    this.#sourceRanges = new CachedMap(maps.sourceRanges, id);
    for (const [k, v] of this.#frontends.entries()) {
      this.frontendIds.adopt(frontendKeyText(k), v.id);
    }
    for (const [k, v] of this.#backends.entries()) this.backendIds.adopt(backendKeyText(v), k);
    for (const [frontend, mapId] of maps.maglev.entries()) {
      try {
        using inner = BpfMap.openById(mapId, codec.u32, codec.u32);
        const ids = new Uint32Array(inner.info.maxEntries);
        for (const [i, v] of inner.lookupBatch()) ids[i] = v;
        this.#maglev.set(frontend, ids.join(","));
      } catch {
        // unreadable: it is rewritten on the first apply
      }
    }
  }

  /** Makes the maps serve exactly `frontends`. */
  apply(frontends: readonly Frontend[]): WriteReport {
    const started = performance.now();
    const problems: LbProblem[] = [];
    const feRows: Array<[LbFrontendKey, LbFrontend]> = [];
    const slotRows: Array<[LbSlotKey, number]> = [];
    const backendRows = new Map<number, LbBackend>();
    const rangeRows: Array<[LbSourceRangeKey, number]> = [];
    const maglevWanted = new Map<number, Uint32Array>();
    const liveFrontends = new Set<string>();
    // capacities as the kernel has them (MAPS has the compiled defaults)
    const maxFe = this.#maps.frontends.info.maxEntries;
    const maxSlots = this.#maps.slots.info.maxEntries;
    const maxBackends = this.#maps.backends.info.maxEntries;
    const maxMaglev = this.#maps.maglev.info.maxEntries;

    for (const fe of frontends) {
      const active = fe.backends.filter((b) => b.active);
      const over = feRows.length + 1 > maxFe
        ? `the frontend map is full (${maxFe} entries)`
        : slotRows.length + active.length > maxSlots
        ? `the slot map is full (${maxSlots} entries)`
        : active.length > MAX_SLOTS_PER_FRONTEND
        ? `${active.length} backends, more than a frontend can hold (${MAX_SLOTS_PER_FRONTEND})`
        : backendRows.size + fe.backends.length > maxBackends
        ? `the backend map is full (${maxBackends} entries)`
        : undefined;
      if (over) {
        problems.push({
          object: `Service ${fe.service}`,
          path: fe.key,
          message: `not served: ${over}`,
        });
        continue;
      }
      const feId = this.frontendIds.idFor(fe.key);
      liveFrontends.add(fe.key);
      const ids: number[] = [];
      for (const b of fe.backends) {
        const bKey = `${b.ip}|${b.port}|${b.protocol}`;
        const bId = this.backendIds.idFor(bKey);
        backendRows.set(bId, {
          addr: addrWords(parseIp(b.ip)),
          port: netPort(b.port),
          proto: IPPROTO[b.protocol]!,
          family: b.family,
          flags: (b.terminating ? LB_BE_F.TERMINATING : 0) | (b.local ? LB_BE_F.LOCAL : 0),
        });
        if (b.active) ids.push(bId);
      }
      ids.forEach((bId, i) => slotRows.push([{ frontend: feId, slot: i + 1 }, bId]));
      let maglev = false;
      if (fe.algorithm === "maglev" && ids.length) {
        if (maglevWanted.size >= maxMaglev) {
          problems.push({
            object: `Service ${fe.service}`,
            path: fe.key,
            message: `Maglev tables are full (${maxMaglev}): balanced at random`,
          });
        } else if (ids.length >= this.#opts.maglevM) {
          problems.push({
            object: `Service ${fe.service}`,
            path: fe.key,
            message: `${ids.length} backends do not fit a Maglev table of ${this.#opts.maglevM}: ` +
              "balanced at random",
          });
        } else {
          const names = fe.backends.filter((b) => b.active).map((b) => `${b.ip}:${b.port}`);
          const table = maglevTable(names, this.#opts.maglevM, this.#opts.seed);
          const out = new Uint32Array(table.length);
          for (let i = 0; i < table.length; i++) out[i] = ids[table[i]!]!;
          maglevWanted.set(feId, out);
          maglev = true;
        }
      }
      const flags = (fe.external ? LB_FE.EXTERNAL : 0) | (fe.socket ? LB_FE.SOCKET : 0) |
        (fe.trafficPolicy === "Local" ? LB_FE.LOCAL : 0) |
        (fe.affinityTimeoutSeconds !== undefined ? LB_FE.AFFINITY : 0) |
        (maglev ? LB_FE.MAGLEV : 0) | (fe.sourceRanges.length ? LB_FE.SOURCE_RANGES : 0) |
        (fe.dropWhenEmpty && ids.length === 0 ? LB_FE.DROP_EMPTY : 0);
      feRows.push([frontendMapKey(fe.ip, fe.port, fe.protocol), {
        id: feId,
        count: ids.length,
        flags,
        affinity_timeout: fe.affinityTimeoutSeconds ?? 0,
      }]);
      for (const r of fe.sourceRanges) {
        const cidr = parseCidr(r);
        rangeRows.push([{
          prefixlen: SOURCE_PREFIX_BASE + cidr.prefixLength,
          frontend: feId,
          family: cidr.address.family,
          addr: addrWords(cidr.address),
        }, 1]);
      }
    }

    // make: everything a frontend will point at
    const backends = this.#backends.apply(backendRows, { prune: false });
    const slots = this.#slots.apply(slotRows, { prune: false });
    const sourceRanges = this.#sourceRanges.apply(rangeRows, { prune: false });
    const maglev = this.#writeMaglev(maglevWanted);
    const config = this.#writeConfig();
    // switch
    const frontendResult = this.#frontends.apply(feRows, { prune: true });
    // break: what nothing uses any more
    const slotsPruned = this.#slots.apply(slotRows, { prune: true });
    const rangesPruned = this.#sourceRanges.apply(rangeRows, { prune: true });
    const backendsPruned = this.#backends.apply(backendRows, { prune: true });
    for (const feId of [...this.#maglev.keys()]) {
      if (maglevWanted.has(feId)) continue;
      this.#maps.maglev.delete(feId);
      this.#maglev.delete(feId);
      maglev.removed++;
    }
    this.frontendIds.retain(liveFrontends);
    this.backendIds.retain(
      new Set([...backendRows.values()].map((b) => backendKeyText(b))),
    );
    return {
      frontends: frontendResult,
      slots: merge(slots, slotsPruned),
      backends: merge(backends, backendsPruned),
      sourceRanges: merge(sourceRanges, rangesPruned),
      maglev,
      config,
      problems,
      ms: performance.now() - started,
    };
  }

  #writeMaglev(wanted: Map<number, Uint32Array>): WriteReport["maglev"] {
    const out = { written: 0, removed: 0, unchanged: 0 };
    for (const [feId, table] of wanted) {
      const text = table.join(",");
      if (this.#maglev.get(feId) === text) {
        out.unchanged++;
        continue;
      }
      // A new inner table replaces the old one atomically in the outer map.
      using inner = BpfMap.create(
        {
          type: BPF_MAP_TYPE_ARRAY,
          name: "hypha_lb_mtab",
          maxEntries: table.length,
          flags: BPF_F_INNER_MAP,
        },
        codec.u32,
        codec.u32,
      );
      inner.updateBatch([...table].map((v, i) => [i, v]));
      this.#maps.maglev.update(feId, inner.fd);
      this.#maglev.set(feId, text);
      out.written++;
    }
    return out;
  }

  #writeConfig(): boolean {
    const want = {
      flags: LB_CFG_F.ENABLED | (this.#opts.dsr ? LB_CFG_F.DSR : 0),
      maglev_m: this.#opts.maglevM,
      seed: seedWord(this.#opts.seed),
    };
    const have = this.#maps.config.lookup(0);
    if (
      have && have.flags === want.flags && have.maglev_m === want.maglev_m &&
      have.seed === want.seed
    ) return false;
    this.#maps.config.update(0, want);
    return true;
  }

  /** Stops serving (the programs pass every packet to core's stages until the next apply). */
  disable(): void {
    const have = this.#maps.config.lookup(0);
    if (have && have.flags & LB_CFG_F.ENABLED) {
      this.#maps.config.update(0, { ...have, flags: have.flags & ~LB_CFG_F.ENABLED });
    }
  }
}

function merge(a: ReconcileResult, b: ReconcileResult): ReconcileResult {
  return {
    added: a.added + b.added,
    updated: a.updated + b.updated,
    removed: a.removed + b.removed,
    unchanged: a.unchanged,
    errors: [...a.errors, ...b.errors],
  };
}
