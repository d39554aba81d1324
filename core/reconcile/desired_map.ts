// A BPF map's desired contents, kept in memory and reconciled incrementally: changes mark keys
// dirty and flush() writes only those (and only where the kernel differs); sync() diffs the whole
// map, e.g. after a restart, so an agent that re-adopts an unchanged datapath writes nothing.
import {
  canonicalJson,
  type MapTarget,
  reconcileMap,
  type ReconcileResult,
} from "./map_reconciler.ts";

/** What DesiredMap needs of a kernel map (a BpfMap satisfies it). */
export interface DesiredMapTarget<K, V> extends MapTarget<K, V> {
  lookup(key: K): V | undefined;
}

export class DesiredMap<K, V> {
  readonly #target: DesiredMapTarget<K, V>;
  readonly #keyId: (key: K) => string;
  readonly #desired = new Map<string, [K, V]>();
  readonly #dirty = new Map<string, K>();
  #lastErrors: ReconcileResult["errors"] = [];

  constructor(target: DesiredMapTarget<K, V>, keyId: (key: K) => string) {
    this.#target = target;
    this.#keyId = keyId;
  }

  get size(): number {
    return this.#desired.size;
  }

  get(key: K): V | undefined {
    return this.#desired.get(this.#keyId(key))?.[1];
  }

  /** What the kernel holds for `key` now (e.g. to adopt state written by an earlier run). */
  current(key: K): V | undefined {
    return this.#target.lookup(key);
  }

  /** Everything the kernel holds now (e.g. to rebuild a lost record of what was written). */
  kernelEntries(): Iterable<[K, V]> {
    return this.#target.entries();
  }

  set(key: K, value: V): void {
    const id = this.#keyId(key);
    this.#desired.set(id, [key, value]);
    this.#dirty.set(id, key);
  }

  delete(key: K): void {
    const id = this.#keyId(key);
    if (this.#desired.delete(id)) this.#dirty.set(id, key);
  }

  /** Replaces the whole desired table (entries not in `entries` are deleted on flush/sync). */
  replaceAll(entries: Iterable<[K, V]>): void {
    const next = new Map<string, [K, V]>();
    for (const [k, v] of entries) next.set(this.#keyId(k), [k, v]);
    for (const [id, [k]] of this.#desired) if (!next.has(id)) this.#dirty.set(id, k);
    for (const [id, [k, v]] of next) {
      const cur = this.#desired.get(id);
      if (!cur || canonicalJson(cur[1]) !== canonicalJson(v)) this.#dirty.set(id, k);
    }
    this.#desired.clear();
    for (const [id, e] of next) this.#desired.set(id, e);
  }

  /** Writes the dirty keys where the kernel differs. Failed keys stay dirty for the next flush. */
  flush(): ReconcileResult {
    const result: ReconcileResult = { added: 0, updated: 0, removed: 0, unchanged: 0, errors: [] };
    for (const [id, key] of [...this.#dirty]) {
      const want = this.#desired.get(id);
      try {
        const have = this.#target.lookup(key);
        if (!want) {
          if (have !== undefined) {
            this.#target.delete(key);
            result.removed++;
          } else result.unchanged++;
        } else if (have !== undefined && canonicalJson(have) === canonicalJson(want[1])) {
          result.unchanged++;
        } else {
          this.#target.update(want[0], want[1]);
          have === undefined ? result.added++ : result.updated++;
        }
        this.#dirty.delete(id);
      } catch (err) {
        result.errors.push({ key: id, message: err instanceof Error ? err.message : String(err) });
      }
    }
    this.#lastErrors = result.errors;
    return result;
  }

  /** Full diff against the kernel: writes every difference, deletes what is not desired. */
  sync(): ReconcileResult {
    const result = reconcileMap(this.#target, this.#desired.values(), { keyId: this.#keyId });
    const failed = new Set(result.errors.map((e) => e.key));
    for (const id of [...this.#dirty.keys()]) if (!failed.has(id)) this.#dirty.delete(id);
    this.#lastErrors = result.errors;
    return result;
  }

  get pending(): number {
    return this.#dirty.size;
  }

  get lastErrors(): ReconcileResult["errors"] {
    return this.#lastErrors;
  }

  entries(): IterableIterator<[K, V]> {
    return this.#desired.values();
  }
}
