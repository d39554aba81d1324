// Desired state, reconciled: a BPF map is written only where its contents differ from the desired
// table. An unchanged desired table costs zero writes, which is what lets a restarted agent leave
// a running datapath untouched.

/** The slice of BpfMap a reconciler needs (a real BpfMap satisfies it). */
export interface MapTarget<K, V> {
  entries(): Iterable<[K, V]>;
  update(key: K, value: V): void;
  delete(key: K): boolean;
}

export interface ReconcileResult {
  added: number;
  updated: number;
  removed: number;
  unchanged: number;
  /** Keys that failed, with the reason; the rest of the table was still applied. */
  errors: Array<{ key: string; message: string }>;
}

export interface MapReconcileOptions<K, V> {
  /** Stable identity of a key (e.g. JSON of its fields). */
  keyId: (key: K) => string;
  /** Value equality; defaults to comparing canonical JSON. */
  equal?: (a: V, b: V) => boolean;
  /** Keep entries that are not desired (e.g. maps shared with the datapath's own writers). */
  keepUnknown?: boolean;
}

export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => {
    if (typeof v === "bigint") return `${v}n`;
    if (v instanceof Uint8Array) return [...v];
    if (v && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)));
    }
    return v;
  });
}

/** Makes `target` equal to `desired`, writing only differences. */
export function reconcileMap<K, V>(
  target: MapTarget<K, V>,
  desired: Iterable<[K, V]>,
  opts: MapReconcileOptions<K, V>,
): ReconcileResult {
  const equal = opts.equal ?? ((a: V, b: V) => canonicalJson(a) === canonicalJson(b));
  const result: ReconcileResult = { added: 0, updated: 0, removed: 0, unchanged: 0, errors: [] };
  const actual = new Map<string, [K, V]>();
  for (const [k, v] of target.entries()) actual.set(opts.keyId(k), [k, v]);
  const wanted = new Set<string>();
  for (const [k, v] of desired) {
    const id = opts.keyId(k);
    wanted.add(id);
    const current = actual.get(id);
    if (current && equal(current[1], v)) {
      result.unchanged++;
      continue;
    }
    try {
      target.update(k, v);
      current ? result.updated++ : result.added++;
    } catch (err) {
      result.errors.push({ key: id, message: err instanceof Error ? err.message : String(err) });
    }
  }
  if (!opts.keepUnknown) {
    for (const [id, [k]] of actual) {
      if (wanted.has(id)) continue;
      try {
        target.delete(k);
        result.removed++;
      } catch (err) {
        result.errors.push({ key: id, message: err instanceof Error ? err.message : String(err) });
      }
    }
  }
  return result;
}
