// A BPF map that only this agent writes, mirrored in memory: desired contents are diffed against
// the mirror (no kernel lookups) and the differences written with batch operations. For large
// agent-owned tables (hundreds of thousands of service entries) where DesiredMap's per-key
// lookups would dominate. The mirror is read from the kernel once, so a restarted agent whose
// desired contents match what is pinned writes nothing.
import { canonicalJson, type ReconcileResult } from "./map_reconciler.ts";

/** What CachedMap needs of a kernel map (a BpfMap satisfies it). */
export interface BatchTarget<K, V> {
  lookupBatch(): Array<[K, V]>;
  updateBatch(entries: Array<[K, V]>): void;
  deleteBatch(keys: K[]): void;
}

export class CachedMap<K, V> {
  readonly #target: BatchTarget<K, V>;
  readonly #keyId: (key: K) => string;
  readonly #valueId: (value: V) => string;
  /** What the kernel holds: key id -> [key, value, value id]. */
  readonly #mirror = new Map<string, [K, V, string]>();

  /**
   * `keyId` and `valueId` identify keys and values as strings (equal strings: equal entries);
   * a map of hundreds of thousands of entries wants cheap ones (the default for values,
   * canonical JSON, costs microseconds each).
   */
  constructor(
    target: BatchTarget<K, V>,
    keyId: (key: K) => string,
    valueId: (value: V) => string = canonicalJson,
  ) {
    this.#target = target;
    this.#keyId = keyId;
    this.#valueId = valueId;
    for (const [k, v] of target.lookupBatch()) this.#mirror.set(keyId(k), [k, v, valueId(v)]);
  }

  get size(): number {
    return this.#mirror.size;
  }

  get(key: K): V | undefined {
    return this.#mirror.get(this.#keyId(key))?.[1];
  }

  entries(): IterableIterator<[K, V, string]> {
    return this.#mirror.values();
  }

  /**
   * Writes the entries that differ from the kernel (a part of the map: nothing is deleted).
   * `seen` collects the ids of every entry given (for a later prune()).
   */
  write(entries: Iterable<[K, V]>, seen?: Set<string>): ReconcileResult {
    const result: ReconcileResult = { added: 0, updated: 0, removed: 0, unchanged: 0, errors: [] };
    const writes: Array<[K, V, string, string]> = [];
    for (const [k, v] of entries) {
      const id = this.#keyId(k);
      seen?.add(id);
      const vid = this.#valueId(v);
      const cur = this.#mirror.get(id);
      if (cur && cur[2] === vid) {
        result.unchanged++;
        continue;
      }
      writes.push([k, v, id, vid]);
      cur ? result.updated++ : result.added++;
    }
    if (!writes.length) return result;
    try {
      this.#target.updateBatch(writes.map(([k, v]) => [k, v]));
    } catch (err) {
      // Partial batches are possible: re-read so the mirror tells the truth.
      this.#reload();
      result.errors.push({ key: "(batch update)", message: String(err) });
      return result;
    }
    for (const [k, v, id, vid] of writes) this.#mirror.set(id, [k, v, vid]);
    return result;
  }

  /** Deletes every entry whose id `keep` lacks (ids collected by write()). */
  prune(keep: ReadonlySet<string>): ReconcileResult {
    const result: ReconcileResult = { added: 0, updated: 0, removed: 0, unchanged: 0, errors: [] };
    const stale: K[] = [];
    for (const [id, [k]] of this.#mirror) if (!keep.has(id)) stale.push(k);
    if (!stale.length) return result;
    try {
      this.#target.deleteBatch(stale);
    } catch (err) {
      this.#reload();
      result.errors.push({ key: "(batch delete)", message: String(err) });
      return result;
    }
    for (const k of stale) this.#mirror.delete(this.#keyId(k));
    result.removed = stale.length;
    return result;
  }

  /**
   * Writes the entries of `desired` that differ from the kernel. With `prune`, also deletes
   * what `desired` lacks; without, leaves it (a first phase of a make-before-break update).
   */
  apply(desired: Iterable<[K, V]>, opts: { prune: boolean }): ReconcileResult {
    const seen = new Set<string>();
    const result = this.write(desired, seen);
    if (!opts.prune || result.errors.length) return result;
    const gone = this.prune(seen);
    result.removed += gone.removed;
    result.errors.push(...gone.errors);
    return result;
  }

  #reload(): void {
    this.#mirror.clear();
    for (const [k, v] of this.#target.lookupBatch()) {
      this.#mirror.set(this.#keyId(k), [k, v, this.#valueId(v)]);
    }
  }
}
