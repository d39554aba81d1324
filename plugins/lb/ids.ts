// Stable numeric ids for frontends and backends. The datapath refers to both by id (slots, the
// per-flow conntrack, Maglev tables), so an id must not change while its object lives; a
// restarted agent adopts the ids it finds in the pinned maps. Ids are not reused: a flow that
// still names a deleted backend's id must not reach a new backend that got the same number.

export class IdAllocator {
  readonly #ids = new Map<string, number>();
  #next = 1;

  /** Records an id found in the kernel (at start, before any allocation). */
  adopt(key: string, id: number): void {
    this.#ids.set(key, id);
    if (id >= this.#next) this.#next = id + 1;
  }

  get(key: string): number | undefined {
    return this.#ids.get(key);
  }

  /** The id of `key`, allocated when new. */
  idFor(key: string): number {
    let id = this.#ids.get(key);
    if (id === undefined) {
      if (this.#next > 0xffffffff) throw new Error("No free id left (2^32 - 1 used)");
      id = this.#next++;
      this.#ids.set(key, id);
    }
    return id;
  }

  /** Forgets every key not in `live`. */
  retain(live: ReadonlySet<string>): void {
    for (const key of this.#ids.keys()) if (!live.has(key)) this.#ids.delete(key);
  }

  get size(): number {
    return this.#ids.size;
  }
}
