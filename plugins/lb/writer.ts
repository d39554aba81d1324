// Writes the frontends this node serves into the load balancer's maps, make-before-break:
// backends, slots, Maglev tables and source ranges are added first, then the frontends (their
// slot counts and flags) switch over, and only then is what nothing uses any more deleted. So a
// packet never finds a frontend whose slots or table are missing.
//
// Incremental: each frontend's entries are kept with a fingerprint of what they depend on
// (rows.ts), so an apply builds and diffs only the frontends that changed, and an apply that
// changed nothing costs a fingerprint per frontend. The first apply diffs everything against
// the maps as the kernel holds them (core/reconcile/cached_map.ts): a restarted agent whose
// services did not change writes nothing.
import { BpfMap, codec } from "../../core/bpf/mod.ts";
import { wordsToIp } from "../../core/datapath/addr.ts";
import type { IpFamily } from "../../core/ipam/mod.ts";
import { CachedMap } from "../../core/reconcile/cached_map.ts";
import type { ReconcileResult } from "../../core/reconcile/map_reconciler.ts";
import type { LbMaps } from "./datapath.ts";
import type { Frontend, LbProblem } from "./frontends.ts";
import {
  LB_CFG_F,
  type LbBackend,
  type LbFrontend,
  type LbFrontendKey,
  type LbSlotKey,
  type LbSourceRangeKey,
} from "./generated/lb.ts";
import { IdAllocator } from "./ids.ts";
import {
  AddressWords,
  fingerprint,
  type FrontendRows,
  frontendRows,
  IPPROTO,
  netPort,
  type RowContext,
  wantsMaglev,
} from "./rows.ts";

export { netPort } from "./rows.ts";

const PROTO_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(IPPROTO).map(([name, n]) => [n, name]),
);
/** BPF_F_INNER_MAP: inner maps of any size fit the outer map. */
const BPF_F_INNER_MAP = 1 << 12;
const BPF_MAP_TYPE_ARRAY = 2;
const MAX_SLOTS_PER_FRONTEND = 0xffff;

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
  /** Frontends rebuilt (new or changed) by this apply, and frontends gone. */
  changed: number;
  removed: number;
  /** Frontends that did not fit (map capacity) or fell back to random, with why. */
  problems: LbProblem[];
  /** Milliseconds the apply took. */
  ms: number;
}

// Cheap string identities of the maps' keys and values (hundreds of thousands are compared).
const words = (a: number[]) => `${a[0]},${a[1]},${a[2]},${a[3]}`;
const feKeyId = (k: LbFrontendKey) => `${k.family}|${words(k.addr)}|${k.port}|${k.proto}`;
const feValueId = (v: LbFrontend) => `${v.id}|${v.count}|${v.flags}|${v.affinity_timeout}`;
const slotKeyId = (k: LbSlotKey) => `${k.frontend}|${k.slot}`;
const backendValueId = (v: LbBackend) =>
  `${v.family}|${words(v.addr)}|${v.port}|${v.proto}|${v.flags}`;
const rangeKeyId = (k: LbSourceRangeKey) =>
  `${k.frontend}|${k.family}|${words(k.addr)}|${k.prefixlen}`;

const none = (): ReconcileResult => ({
  added: 0,
  updated: 0,
  removed: 0,
  unchanged: 0,
  errors: [],
});

function merge(...rs: ReconcileResult[]): ReconcileResult {
  const out = none();
  for (const r of rs) {
    out.added += r.added;
    out.updated += r.updated;
    out.removed += r.removed;
    out.unchanged += r.unchanged;
    out.errors.push(...r.errors);
  }
  return out;
}

/** The kernel's maps as read when the writer starts, until the first apply has synced them. */
interface KernelMirror {
  frontends: CachedMap<LbFrontendKey, LbFrontend>;
  slots: CachedMap<LbSlotKey, number>;
  backends: CachedMap<number, LbBackend>;
  sourceRanges: CachedMap<LbSourceRangeKey, number>;
}

export class LbWriter {
  readonly #maps: LbMaps;
  readonly #opts: WriterOptions;
  /** Set until the first apply (and again after a failed write): diff against the kernel. */
  #kernel: KernelMirror | undefined;
  readonly frontendIds = new IdAllocator();
  readonly backendIds = new IdAllocator();
  /** Frontend id -> the backend ids its Maglev table holds now (joined), as written. */
  readonly #maglev = new Map<number, string>();
  readonly #addr = new AddressWords();
  /** The rows of every frontend served, by Frontend.key: what the maps hold after an apply. */
  #rows = new Map<string, FrontendRows>();
  /** Backend id -> how many served frontends have it, and its value as written. */
  readonly #backendRefs = new Map<number, number>();
  readonly #backendValues = new Map<number, string>();

  constructor(maps: LbMaps, opts: WriterOptions) {
    this.#maps = maps;
    this.#opts = opts;
    this.#kernel = this.#readKernel();
    for (const [k, v] of this.#kernel.frontends.entries()) {
      this.frontendIds.adopt(frontendKeyText(k), v.id);
    }
    for (const [k, v] of this.#kernel.backends.entries()) {
      this.backendIds.adopt(backendKeyText(v), k);
    }
    for (const [frontend, mapId] of maps.maglev.entries()) {
      try {
        using inner = BpfMap.openById(mapId, codec.u32, codec.u32);
        const ids = new Uint32Array(inner.info.maxEntries);
        for (const [i, v] of inner.lookupBatch()) ids[i] = v;
        this.#maglev.set(frontend, ids.join(","));
      } catch {
        // unreadable: known (so counted and dropped when unused), rewritten on the first apply
        this.#maglev.set(frontend, "");
      }
    }
  }

  #readKernel(): KernelMirror {
    const m = this.#maps;
    return {
      frontends: new CachedMap(m.frontends, feKeyId, feValueId),
      slots: new CachedMap(m.slots, slotKeyId, String),
      backends: new CachedMap(m.backends, String, backendValueId),
      sourceRanges: new CachedMap(m.sourceRanges, rangeKeyId, String),
    };
  }

  /** Makes the maps serve exactly `frontends`. */
  apply(frontends: readonly Frontend[]): WriteReport {
    const started = performance.now();
    const problems: LbProblem[] = [];
    const next = new Map<string, FrontendRows>();
    const changed: Array<{ prev: FrontendRows | undefined; rows: FrontendRows }> = [];
    // Maglev tables: a frontend that has one and still wants one keeps it; the rest of the outer
    // map goes to the others in order. So a frontend that fell back to random takes a table in
    // the first apply after one frees up, and never one that a holder still needs.
    const maglevCapacity = this.#maps.maglev.info.maxEntries;
    const holders = new Set<number>();
    for (const fe of frontends) {
      if (!wantsMaglev(fe, this.#opts.maglevM)) continue;
      const id = this.frontendIds.get(fe.key);
      if (id !== undefined && this.#maglev.has(id)) holders.add(id);
    }
    let granted = 0;
    const maglevFree = () => holders.size + granted < maglevCapacity;
    const ctx: RowContext = {
      frontendIds: this.frontendIds,
      backendIds: this.backendIds,
      addr: (ip) => this.#addr.get(ip),
      maglevM: this.#opts.maglevM,
      seed: this.#opts.seed,
      maglevRoom: (id) => holders.has(id) || (maglevFree() && ++granted > 0),
      maglevCapacity,
    };
    // capacities as the kernel has them (MAPS has the compiled defaults)
    const maxFe = this.#maps.frontends.info.maxEntries;
    const maxSlots = this.#maps.slots.info.maxEntries;
    const maxBackends = this.#maps.backends.info.maxEntries;
    const backendsSeen = new Set<string>();
    let slots = 0;

    for (const fe of frontends) {
      const fp = fingerprint(fe);
      const prev = this.#rows.get(fe.key);
      const reuse = prev && prev.fingerprint === fp && !(prev.maglevDenied && maglevFree());
      const rows = reuse ? prev : frontendRows(fe, ctx, fp);
      const active = rows.slots.length;
      let newBackends = 0;
      for (const k of rows.backendKeys) if (!backendsSeen.has(k)) newBackends++;
      const over = next.size + 1 > maxFe
        ? `the frontend map is full (${maxFe} entries)`
        : slots + active > maxSlots
        ? `the slot map is full (${maxSlots} entries)`
        : active > MAX_SLOTS_PER_FRONTEND
        ? `${active} backends, more than a frontend can hold (${MAX_SLOTS_PER_FRONTEND})`
        : backendsSeen.size + newBackends > maxBackends
        ? `the backend map is full (${maxBackends} entries)`
        : undefined;
      if (over) {
        if (rows.maglev && !holders.has(rows.id)) granted--; // not served: the table stays free
        problems.push({
          object: `Service ${fe.service}`,
          path: fe.key,
          message: `not served: ${over}`,
        });
        continue;
      }
      next.set(fe.key, rows);
      slots += active;
      for (const k of rows.backendKeys) backendsSeen.add(k);
      problems.push(...rows.problems);
      if (rows !== prev || this.#kernel) changed.push({ prev, rows });
    }
    const removed = [...this.#rows.values()].filter((r) => !next.has(r.key));

    let report: Omit<WriteReport, "changed" | "removed" | "problems" | "ms">;
    try {
      report = this.#kernel ? this.#sync(this.#kernel, next) : this.#write(changed, removed);
      this.#kernel = undefined; // synced: later applies diff against the rows they wrote
    } catch (err) {
      this.#kernel = this.#readKernel(); // what the kernel holds is unknown: diff it next time
      throw err;
    }
    this.#rows = next;
    this.frontendIds.retain(new Set(next.keys()));
    this.backendIds.retain(backendsSeen);
    this.#addr.roll();
    return {
      ...report,
      changed: changed.length,
      removed: removed.length,
      problems,
      ms: performance.now() - started,
    };
  }

  /** The first apply: everything against what the kernel holds, deleting what nothing uses. */
  #sync(kernel: KernelMirror, rows: Map<string, FrontendRows>) {
    const all = [...rows.values()];
    const backendRows = new Map<number, LbBackend>();
    this.#backendRefs.clear();
    this.#backendValues.clear();
    for (const r of all) {
      for (const [id, b] of r.backends) {
        backendRows.set(id, b);
        this.#backendRefs.set(id, (this.#backendRefs.get(id) ?? 0) + 1);
      }
    }
    for (const [id, b] of backendRows) this.#backendValues.set(id, backendValueId(b));
    const seen = {
      backends: new Set<string>(),
      slots: new Set<string>(),
      ranges: new Set<string>(),
    };
    // make (into an empty map, e.g. at a cold start, without diffing entry by entry)
    const put = <K, V>(
      mirror: CachedMap<K, V>,
      target: { updateBatch(e: Array<[K, V]>): void },
      entries: Array<[K, V]>,
      into: Set<string>,
    ): ReconcileResult => {
      if (mirror.size > 0) return mirror.write(entries, into);
      if (entries.length) target.updateBatch(entries);
      return { ...none(), added: entries.length };
    };
    const m = this.#maps;
    const backends = put(kernel.backends, m.backends, [...backendRows], seen.backends);
    const slots = put(kernel.slots, m.slots, all.flatMap((r) => r.slots), seen.slots);
    const ranges = put(
      kernel.sourceRanges,
      m.sourceRanges,
      all.flatMap((r) => r.ranges),
      seen.ranges,
    );
    const later: FrontendRows[] = [];
    const maglev = this.#writeMaglev(all.filter((r) => r.maglev), later);
    const config = this.#writeConfig();
    // switch
    const frontends = kernel.frontends.size > 0
      ? kernel.frontends.apply(all.map((r) => r.frontend), { prune: true })
      : put(kernel.frontends, m.frontends, all.map((r) => r.frontend), new Set());
    // break (a map that was empty has an empty mirror: nothing to prune)
    const slotsGone = kernel.slots.prune(seen.slots);
    const rangesGone = kernel.sourceRanges.prune(seen.ranges);
    const backendsGone = kernel.backends.prune(seen.backends);
    const wanted = new Set(all.filter((r) => r.maglev).map((r) => r.id));
    maglev.removed += this.#dropMaglev([...this.#maglev.keys()].filter((id) => !wanted.has(id)));
    this.#writeMaglev(later, null, maglev);
    const errors = [frontends, slots, slotsGone, backends, backendsGone, ranges, rangesGone]
      .flatMap((r) => r.errors);
    if (errors.length) throw new Error(`Writing the load balancer's maps: ${errors[0]!.message}`);
    return {
      frontends,
      slots: merge(slots, slotsGone),
      backends: merge(backends, backendsGone),
      sourceRanges: merge(ranges, rangesGone),
      maglev,
      config,
    };
  }

  /**
   * Later applies: only what changed frontends and gone frontends touch, diffed against the rows
   * the last apply wrote (no kernel lookups, no mirror of the maps).
   */
  #write(
    changed: Array<{ prev: FrontendRows | undefined; rows: FrontendRows }>,
    removed: FrontendRows[],
  ) {
    const m = this.#maps;
    const refs = this.#backendRefs;
    const ref = (id: number, by: number) => refs.set(id, (refs.get(id) ?? 0) + by);
    for (const { prev, rows } of changed) {
      for (const [id] of prev?.backends ?? []) ref(id, -1);
      for (const [id] of rows.backends) ref(id, +1);
    }
    for (const r of removed) for (const [id] of r.backends) ref(id, -1);
    const orphans: number[] = [];
    for (const [id, n] of refs) {
      if (n > 0) continue;
      refs.delete(id);
      orphans.push(id);
    }
    const r = { frontends: none(), slots: none(), backends: none(), sourceRanges: none() };
    // make: backends, slots and ranges that differ from what was written
    const backendWrites: Array<[number, LbBackend]> = [];
    for (const { rows } of changed) {
      for (const [id, b] of rows.backends) {
        const vid = backendValueId(b);
        const had = this.#backendValues.get(id);
        if (had === vid) continue;
        this.#backendValues.set(id, vid);
        backendWrites.push([id, b]);
        had === undefined ? r.backends.added++ : r.backends.updated++;
      }
    }
    const slotWrites: Array<[LbSlotKey, number]> = [];
    const rangeWrites: Array<[LbSourceRangeKey, number]> = [];
    for (const { prev, rows } of changed) {
      rows.slots.forEach((slot, i) => {
        const had = prev?.slots[i]?.[1];
        if (had === slot[1]) return;
        slotWrites.push(slot);
        had === undefined ? r.slots.added++ : r.slots.updated++;
      });
      const had = new Set(prev?.ranges.map(([k]) => rangeKeyId(k)));
      for (const range of rows.ranges) {
        if (had.has(rangeKeyId(range[0]))) continue;
        rangeWrites.push(range);
        r.sourceRanges.added++;
      }
    }
    if (backendWrites.length) m.backends.updateBatch(backendWrites);
    if (slotWrites.length) m.slots.updateBatch(slotWrites);
    if (rangeWrites.length) m.sourceRanges.updateBatch(rangeWrites);
    const later: FrontendRows[] = [];
    const maglev = this.#writeMaglev(changed.map((c) => c.rows).filter((x) => x.maglev), later);
    const config = this.#writeConfig();
    // switch: the frontends
    const feWrites: Array<[LbFrontendKey, LbFrontend]> = [];
    for (const { prev, rows } of changed) {
      if (prev && feValueId(prev.frontend[1]) === feValueId(rows.frontend[1])) continue;
      feWrites.push(rows.frontend);
      prev ? r.frontends.updated++ : r.frontends.added++;
    }
    if (feWrites.length) m.frontends.updateBatch(feWrites);
    if (removed.length) m.frontends.deleteBatch(removed.map((x) => x.frontend[0]));
    r.frontends.removed = removed.length;
    // break: entries changed frontends no longer have, gone frontends' entries, orphans
    const staleSlots: LbSlotKey[] = [];
    const staleRanges: LbSourceRangeKey[] = [];
    const staleMaglev: number[] = [];
    for (const { prev, rows } of changed) {
      if (!prev) continue;
      for (let i = rows.slots.length; i < prev.slots.length; i++) {
        staleSlots.push(prev.slots[i]![0]);
      }
      const keep = new Set(rows.ranges.map(([k]) => rangeKeyId(k)));
      staleRanges.push(...prev.ranges.map(([k]) => k).filter((k) => !keep.has(rangeKeyId(k))));
      if (prev.maglev && !rows.maglev) staleMaglev.push(prev.id);
    }
    for (const x of removed) {
      staleSlots.push(...x.slots.map(([k]) => k));
      staleRanges.push(...x.ranges.map(([k]) => k));
      if (x.maglev) staleMaglev.push(x.id);
    }
    if (staleSlots.length) m.slots.deleteBatch(staleSlots);
    if (staleRanges.length) m.sourceRanges.deleteBatch(staleRanges);
    if (orphans.length) m.backends.deleteBatch(orphans);
    for (const id of orphans) this.#backendValues.delete(id);
    r.slots.removed = staleSlots.length;
    r.sourceRanges.removed = staleRanges.length;
    r.backends.removed = orphans.length;
    maglev.removed += this.#dropMaglev(staleMaglev);
    this.#writeMaglev(later, null, maglev);
    return { ...r, maglev, config };
  }

  /**
   * Writes the rows' Maglev tables. A new table the outer map holds only once stale ones are
   * dropped goes to `later` (when given), to be written after the drop: its frontend balances at
   * random (the datapath's fallback while its table is missing) for that moment.
   */
  #writeMaglev(
    rows: FrontendRows[],
    later: FrontendRows[] | null,
    out: WriteReport["maglev"] = { written: 0, removed: 0, unchanged: 0 },
  ): WriteReport["maglev"] {
    let free = this.#maps.maglev.info.maxEntries - this.#maglev.size;
    for (const r of rows) {
      const table = r.maglev!;
      const text = table.join(",");
      const had = this.#maglev.get(r.id);
      if (had === text) {
        out.unchanged++;
        continue;
      }
      if (later && had === undefined && free-- <= 0) {
        later.push(r);
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
      this.#maps.maglev.update(r.id, inner.fd);
      this.#maglev.set(r.id, text);
      out.written++;
    }
    return out;
  }

  #dropMaglev(ids: number[]): number {
    let n = 0;
    for (const id of ids) {
      if (!this.#maglev.delete(id)) continue;
      this.#maps.maglev.delete(id);
      n++;
    }
    return n;
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
