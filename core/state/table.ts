// A typed in-memory state table (nodes, endpoints, services, policies, ...). Sources write to it;
// reconcilers and plugins read it and subscribe to changes. One writer per table.

export type Change<T> = { kind: "upsert"; key: string; value: T; previous?: T } | {
  kind: "delete";
  key: string;
  previous: T;
};

export interface ReadonlyTable<T> {
  readonly name: string;
  get(key: string): T | undefined;
  list(): T[];
  /** [key, row] pairs. */
  entries(): Array<[string, T]>;
  readonly size: number;
  /** Called after every change; returns an unsubscribe function. */
  subscribe(fn: (change: Change<T>) => void): () => void;
}

export class Table<T> implements ReadonlyTable<T> {
  readonly #rows = new Map<string, T>();
  readonly #subscribers = new Set<(change: Change<T>) => void>();
  revision = 0;

  constructor(readonly name: string) {}

  get(key: string): T | undefined {
    return this.#rows.get(key);
  }

  list(): T[] {
    return [...this.#rows.values()];
  }

  entries(): Array<[string, T]> {
    return [...this.#rows.entries()];
  }

  get size(): number {
    return this.#rows.size;
  }

  upsert(key: string, value: T): void {
    const previous = this.#rows.get(key);
    this.#rows.set(key, value);
    this.revision++;
    this.#notify(
      previous === undefined
        ? { kind: "upsert", key, value }
        : { kind: "upsert", key, value, previous },
    );
  }

  /** Upserts unless the row is already there with the same content; true when it changed. */
  upsertChanged(key: string, value: T): boolean {
    if (JSON.stringify(this.#rows.get(key)) === JSON.stringify(value)) return false;
    this.upsert(key, value);
    return true;
  }

  delete(key: string): boolean {
    const previous = this.#rows.get(key);
    if (previous === undefined) return false;
    this.#rows.delete(key);
    this.revision++;
    this.#notify({ kind: "delete", key, previous });
    return true;
  }

  subscribe(fn: (change: Change<T>) => void): () => void {
    this.#subscribers.add(fn);
    return () => this.#subscribers.delete(fn);
  }

  /**
   * Every subscriber hears of every change, even when one before it throws; the first error is
   * thrown afterwards (the writer logs it), so one faulty reader never leaves the others behind.
   */
  #notify(change: Change<T>): void {
    let first: unknown;
    for (const fn of this.#subscribers) {
      try {
        fn(change);
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) {
      throw new Error(`A subscriber of table ${this.name} failed on "${change.key}": ${first}`, {
        cause: first,
      });
    }
  }
}
