// BpfMap<K, V>: a typed handle on a kernel BPF map, with key/value codecs.
//
// A BpfMap owns one file descriptor (a dup when it comes from a BpfObject), so it can outlive the
// object that created it; close it with `using` or close(). Pinned maps survive the process.
import { closeFd, cstr, lib } from "./_libbpf.ts";
import { type Codec, decode } from "./codec.ts";
import { BpfError, bpfError } from "./errors.ts";

export type UpdateFlag = "any" | "noexist" | "exist";
const UPDATE_FLAGS: Record<UpdateFlag, bigint> = { any: 0n, noexist: 1n, exist: 2n };

const MAP_TYPES: Record<number, string> = {
  1: "hash",
  2: "array",
  3: "prog_array",
  4: "perf_event_array",
  5: "percpu_hash",
  6: "percpu_array",
  9: "lru_hash",
  10: "lru_percpu_hash",
  11: "lpm_trie",
  12: "array_of_maps",
  13: "hash_of_maps",
  14: "devmap",
  15: "sockmap",
  18: "sockhash",
  22: "queue",
  23: "stack",
  24: "sk_storage",
  27: "ringbuf",
  30: "bloom_filter",
};
const PER_CPU_TYPES = new Set([5, 6, 10, 21]);

export function mapTypeName(type: number): string {
  return MAP_TYPES[type] ?? `type ${type}`;
}

export interface MapInfo {
  name: string;
  type: string;
  typeId: number;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}

let writes = 0;
/** Process-wide count of map writes (each element of a batch counts): proves idle restarts. */
export function mapWriteCount(): number {
  return writes;
}

let cpus: number | undefined;
/** Number of possible CPUs, the slot count of per-CPU map values. */
export function possibleCpus(): number {
  cpus ??= lib().bpf.libbpf_num_possible_cpus();
  return cpus;
}

/** Reads type, sizes and name of the map behind `fd` from the kernel. */
export function mapInfoByFd(fd: number): MapInfo {
  const info = new Uint8Array(88);
  const len = new Uint32Array([info.length]);
  const ret = lib().bpf.bpf_obj_get_info_by_fd(fd, info, new Uint8Array(len.buffer));
  if (ret < 0) throw bpfError("reading map info", ret);
  const d = new DataView(info.buffer);
  const nameBytes = info.subarray(24, 40);
  const end = nameBytes.indexOf(0);
  const typeId = d.getUint32(0, true);
  return {
    typeId,
    type: mapTypeName(typeId),
    id: d.getUint32(4, true),
    keySize: d.getUint32(8, true),
    valueSize: d.getUint32(12, true),
    maxEntries: d.getUint32(16, true),
    flags: d.getUint32(20, true),
    name: new TextDecoder().decode(nameBytes.subarray(0, end < 0 ? 16 : end)),
  };
}

/** Bytes user space exchanges per value: per-CPU maps carry one 8-byte-aligned slot per CPU. */
export function userValueSize(info: Pick<MapInfo, "typeId" | "valueSize">): number {
  return PER_CPU_TYPES.has(info.typeId)
    ? Math.ceil(info.valueSize / 8) * 8 * possibleCpus()
    : info.valueSize;
}

const BATCH_CHUNK = 4096;

export class BpfMap<K, V> implements Disposable {
  readonly info: MapInfo;
  #fd: number;
  readonly #key: Codec<K>;
  readonly #value: Codec<V>;
  readonly #keyBuf: Uint8Array<ArrayBuffer>;
  readonly #keyView: DataView;
  readonly #valueBuf: Uint8Array<ArrayBuffer>;
  readonly #valueView: DataView;

  /** Takes ownership of `fd` and checks the codecs against the kernel's sizes. */
  constructor(fd: number, key: Codec<K>, value: Codec<V>) {
    this.#fd = fd;
    this.info = mapInfoByFd(fd);
    const valueSize = userValueSize(this.info);
    if (key.size !== this.info.keySize || value.size !== valueSize) {
      closeFd(fd);
      throw new BpfError(
        `opening map "${this.info.name}"`,
        22,
        `codec sizes key=${key.size} value=${value.size} do not match the map's ` +
          `key=${this.info.keySize} value=${valueSize}`,
      );
    }
    this.#key = key;
    this.#value = value;
    this.#keyBuf = new Uint8Array(Math.max(key.size, 1));
    this.#keyView = new DataView(this.#keyBuf.buffer);
    this.#valueBuf = new Uint8Array(Math.max(valueSize, 1));
    this.#valueView = new DataView(this.#valueBuf.buffer);
  }

  /**
   * Creates a map that no object declares (e.g. an inner map of a map-in-map), owned by this
   * handle: it lives while an fd or a reference (an outer map's entry) holds it.
   */
  static create<K, V>(
    spec: { type: number; name: string; maxEntries: number; flags?: number },
    key: Codec<K>,
    value: Codec<V>,
  ): BpfMap<K, V> {
    // struct bpf_map_create_opts (libbpf 1.1): sz @0, ..., map_flags @28; 48 bytes.
    const opts = new Uint8Array(48);
    const d = new DataView(opts.buffer);
    d.setBigUint64(0, 48n, true);
    d.setUint32(28, spec.flags ?? 0, true);
    const fd = lib().bpf.bpf_map_create(
      spec.type,
      cstr(spec.name.slice(0, 15)),
      key.size,
      value.size,
      spec.maxEntries,
      opts,
    );
    if (fd < 0) throw bpfError(`creating map "${spec.name}"`, fd);
    return new BpfMap(fd, key, value);
  }

  /** Opens a map by its kernel id (e.g. the inner map an outer map-in-map entry holds). */
  static openById<K, V>(id: number, key: Codec<K>, value: Codec<V>): BpfMap<K, V> {
    const fd = lib().bpf.bpf_map_get_fd_by_id(id);
    if (fd < 0) throw bpfError(`opening map id ${id}`, fd);
    return new BpfMap(fd, key, value);
  }

  /** Opens a map pinned in bpffs. */
  static openPinned<K, V>(path: string, key: Codec<K>, value: Codec<V>): BpfMap<K, V> {
    const fd = lib().bpf.bpf_obj_get(cstr(path));
    if (fd < 0) throw bpfError(`opening pinned map "${path}"`, fd);
    return new BpfMap(fd, key, value);
  }

  get fd(): number {
    if (this.#fd < 0) throw new BpfError(`using map "${this.info.name}"`, 9, "it is closed");
    return this.#fd;
  }

  #encodeKey(k: K): Uint8Array<ArrayBuffer> {
    this.#key.encode(k, this.#keyView, 0);
    return this.#keyBuf;
  }

  lookup(k: K): V | undefined {
    const ret = lib().bpf.bpf_map_lookup_elem(this.fd, this.#encodeKey(k), this.#valueBuf);
    if (ret === -2) return undefined;
    if (ret < 0) throw bpfError(`looking up in map "${this.info.name}"`, ret);
    return this.#value.decode(this.#valueView, 0);
  }

  update(k: K, v: V, flag: UpdateFlag = "any"): void {
    this.#value.encode(v, this.#valueView, 0);
    const ret = lib().bpf.bpf_map_update_elem(
      this.fd,
      this.#encodeKey(k),
      this.#valueBuf,
      UPDATE_FLAGS[flag],
    );
    if (ret < 0) throw bpfError(`updating map "${this.info.name}"`, ret);
    writes++;
  }

  /** Deletes `k`; returns false when it was not there. */
  delete(k: K): boolean {
    const ret = lib().bpf.bpf_map_delete_elem(this.fd, this.#encodeKey(k));
    if (ret === -2) return false;
    if (ret < 0) throw bpfError(`deleting from map "${this.info.name}"`, ret);
    writes++;
    return true;
  }

  /**
   * Raw key iteration over two alternating buffers: a yielded buffer is valid until the next
   * step. Hash maps restart from the first key if the current one is deleted meanwhile.
   */
  *#rawKeys(): Generator<Uint8Array<ArrayBuffer>> {
    const bufs = [new Uint8Array(this.info.keySize), new Uint8Array(this.info.keySize)] as const;
    const getNext = lib().bpf.bpf_map_get_next_key;
    let prev: Uint8Array<ArrayBuffer> | null = null;
    for (let i = 0;; i ^= 1) {
      const next: Uint8Array<ArrayBuffer> = bufs[i as 0 | 1];
      const ret = getNext(this.fd, prev, next);
      if (ret === -2) return;
      if (ret < 0) throw bpfError(`iterating map "${this.info.name}"`, ret);
      yield next;
      prev = next;
    }
  }

  *keys(): IterableIterator<K> {
    for (const raw of this.#rawKeys()) yield decode(this.#key, raw);
  }

  *entries(): IterableIterator<[K, V]> {
    const lookup = lib().bpf.bpf_map_lookup_elem;
    for (const raw of this.#rawKeys()) {
      const ret = lookup(this.fd, raw, this.#valueBuf);
      if (ret === -2) continue; // deleted meanwhile
      if (ret < 0) throw bpfError(`looking up in map "${this.info.name}"`, ret);
      yield [decode(this.#key, raw), this.#value.decode(this.#valueView, 0)];
    }
  }

  /** Number of entries, by iteration. */
  count(): number {
    let n = 0;
    for (const _ of this.#rawKeys()) n++;
    return n;
  }

  /** Reads the whole map with BPF_MAP_LOOKUP_BATCH (falls back to iteration where unsupported). */
  lookupBatch(): Array<[K, V]> {
    const keySize = this.#key.size;
    const valueSize = this.#value.size;
    const chunk = Math.min(BATCH_CHUNK, Math.max(this.info.maxEntries, 1));
    const keys = new Uint8Array(keySize * chunk);
    const values = new Uint8Array(valueSize * chunk);
    const tokenSize = Math.max(keySize, 8);
    let inBatch: Uint8Array<ArrayBuffer> | null = null;
    const outBatch = new Uint8Array(tokenSize);
    const count = new Uint32Array(1);
    const opts = batchOpts(0n);
    const out: Array<[K, V]> = [];
    const keyView = new DataView(keys.buffer);
    const valueView = new DataView(values.buffer);
    for (;;) {
      count[0] = chunk;
      const ret = lib().bpf.bpf_map_lookup_batch(
        this.fd,
        inBatch,
        outBatch,
        keys,
        values,
        new Uint8Array(count.buffer),
        opts,
      );
      if (ret < 0 && ret !== -2) {
        if (ret === -22 || ret === -95 || ret === -524) return [...this.entries()];
        throw bpfError(`batch lookup in map "${this.info.name}"`, ret);
      }
      const n = count[0] ?? 0;
      for (let i = 0; i < n; i++) {
        out.push([
          this.#key.decode(keyView, i * keySize),
          this.#value.decode(valueView, i * valueSize),
        ]);
      }
      if (ret === -2) return out;
      inBatch = outBatch.slice();
    }
  }

  /** Writes many entries with BPF_MAP_UPDATE_BATCH, in chunks. */
  updateBatch(entries: Array<[K, V]>, flag: UpdateFlag = "any"): void {
    const keySize = this.#key.size;
    const valueSize = this.#value.size;
    const chunk = Math.min(BATCH_CHUNK, entries.length);
    const keys = new Uint8Array(keySize * chunk);
    const values = new Uint8Array(valueSize * chunk);
    const kv = new DataView(keys.buffer);
    const vv = new DataView(values.buffer);
    const count = new Uint32Array(1);
    const countBytes = new Uint8Array(count.buffer);
    const opts = batchOpts(UPDATE_FLAGS[flag]);
    for (let start = 0; start < entries.length; start += chunk) {
      const n = Math.min(chunk, entries.length - start);
      for (let i = 0; i < n; i++) {
        const [k, v] = entries[start + i]!;
        this.#key.encode(k, kv, i * keySize);
        this.#value.encode(v, vv, i * valueSize);
      }
      count[0] = n;
      const ret = lib().bpf.bpf_map_update_batch(this.fd, keys, values, countBytes, opts);
      writes += count[0] ?? 0;
      if (ret < 0) {
        throw bpfError(
          `batch update of map "${this.info.name}"`,
          ret,
          `${start + (count[0] ?? 0)} of ${entries.length} entries were written`,
        );
      }
    }
  }

  /** Deletes many keys with BPF_MAP_DELETE_BATCH; every key must exist (ENOENT otherwise). */
  deleteBatch(keysToDelete: K[]): void {
    const keySize = this.#key.size;
    const opts = batchOpts(0n);
    for (let start = 0; start < keysToDelete.length; start += BATCH_CHUNK) {
      const slice = keysToDelete.slice(start, start + BATCH_CHUNK);
      const keys = new Uint8Array(keySize * slice.length);
      const kv = new DataView(keys.buffer);
      slice.forEach((k, i) => this.#key.encode(k, kv, i * keySize));
      const count = new Uint32Array([slice.length]);
      const ret = lib().bpf.bpf_map_delete_batch(this.fd, keys, new Uint8Array(count.buffer), opts);
      writes += count[0] ?? 0;
      if (ret < 0) throw bpfError(`batch delete from map "${this.info.name}"`, ret);
    }
  }

  /** Pins the map at `path` in a bpffs mount. */
  pin(path: string): void {
    const ret = lib().bpf.bpf_obj_pin(this.fd, cstr(path));
    if (ret < 0) throw bpfError(`pinning map "${this.info.name}" at "${path}"`, ret);
  }

  close(): void {
    closeFd(this.#fd);
    this.#fd = -1;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function batchOpts(elemFlags: bigint): Uint8Array<ArrayBuffer> {
  // struct bpf_map_batch_opts { size_t sz; __u64 elem_flags; __u64 flags; }
  const opts = new Uint8Array(24);
  const d = new DataView(opts.buffer);
  d.setBigUint64(0, 24n, true);
  d.setBigUint64(8, elemFlags, true);
  return opts;
}
