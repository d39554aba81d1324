// The node's flow store: a bounded ring of the most recent flows (O(1) insert, the oldest evicted),
// queries like `hubble observe` (newest last: `last: N` is the N most recent matching flows in
// time order), counters, and `--follow` subscriptions, each with its own bounded queue so that a
// slow or stuck reader never blocks `add()` or other readers (core/flows/subscription.ts).
// Flows are kept as the objects the decoder made: no copies (memory at capacity matters).
import { type Flow, type Verdict, VERDICTS } from "./flow.ts";
import type { LostEventSource } from "./events.ts";
import { compileFilters, type FlowFilterSet, type FlowPredicate } from "./filter.ts";
import { FlowSubscription, type SubscriberStats } from "./subscription.ts";
import { flowTimeMs } from "./time.ts";

export const DEFAULT_CAPACITY = 10_000;
export const DEFAULT_SUBSCRIBER_BUFFER = 1_000;

export interface FlowStoreOptions {
  /** Flows kept (default 10,000). */
  capacity?: number;
  /** Queue of each follower (default 1,000). */
  subscriberBuffer?: number;
  /** This node's name, for lost-events notices. */
  nodeName?: string;
}

export interface QueryOptions {
  /** Epoch milliseconds, inclusive. */
  since?: number;
  until?: number;
  last?: number;
  first?: number;
}

export interface FollowOptions {
  /** Stored matching flows to give first (the most recent N). */
  last?: number;
  since?: number;
  signal?: AbortSignal;
  /** Overrides the store's subscriber buffer. */
  buffer?: number;
}

export interface FlowStoreStats {
  size: number;
  capacity: number;
  /** Flows added since the store started. */
  seen: number;
  evicted: number;
  byVerdict: Record<Verdict, number>;
  /** Losses reported before the store (datapath ring buffer, decoder), by source. */
  lostBefore: Partial<Record<LostEventSource, number>>;
  subscribers: SubscriberStats[];
  /** Flows dropped for slow followers, in total (including ended subscriptions). */
  subscriberDrops: number;
}

export type FlowSelector = FlowFilterSet | FlowPredicate | undefined;

export class FlowStore {
  readonly capacity: number;
  readonly subscriberBuffer: number;
  readonly nodeName: string;
  readonly #ring: Array<Flow | undefined>;
  /** Index of the next write; the oldest flow is at #next when the ring is full. */
  #next = 0;
  #size = 0;
  #seen = 0;
  #evicted = 0;
  readonly #byVerdict = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<
    Verdict,
    number
  >;
  readonly #lostBefore: Partial<Record<LostEventSource, number>> = {};
  readonly #subs = new Set<FlowSubscription>();
  #nextSubId = 1;
  #endedDrops = 0;

  constructor(opts: FlowStoreOptions = {}) {
    this.capacity = positive("capacity", opts.capacity ?? DEFAULT_CAPACITY);
    this.subscriberBuffer = positive(
      "subscriberBuffer",
      opts.subscriberBuffer ?? DEFAULT_SUBSCRIBER_BUFFER,
    );
    this.nodeName = opts.nodeName ?? "";
    this.#ring = new Array(this.capacity);
  }

  get size(): number {
    return this.#size;
  }

  /** Stores a flow (evicting the oldest when full) and offers it to every follower. O(1). */
  add(flow: Flow): void {
    if (this.#size === this.capacity) this.#evicted++;
    else this.#size++;
    this.#ring[this.#next] = flow;
    this.#next = this.#next + 1 === this.capacity ? 0 : this.#next + 1;
    this.#seen++;
    if (flow.verdict in this.#byVerdict) this.#byVerdict[flow.verdict]++;
    for (const sub of this.#subs) {
      let matches = false;
      try {
        matches = sub.match(flow);
      } catch {
        // a filter never throws once compiled; a broken flow object must not stop the others
      }
      if (matches) sub.offer(flow);
    }
  }

  /** Events lost before the store: counted, and told to every follower in its stream. */
  reportLost(source: LostEventSource, count: number): void {
    if (!(count > 0)) return;
    this.#lostBefore[source] = (this.#lostBefore[source] ?? 0) + count;
    for (const sub of this.#subs) sub.offerLost(source, count);
  }

  /** Matching stored flows, oldest first (see QueryOptions). */
  query(filter: FlowSelector, opts: QueryOptions = {}): Flow[] {
    const match = predicate(filter);
    const inTime = timeCheck(opts);
    const ok = (f: Flow) => match(f) && inTime(f);
    const out: Flow[] = [];
    if (opts.first !== undefined) {
      for (let i = 0; i < this.#size && out.length < opts.first; i++) {
        const f = this.#at(i);
        if (ok(f)) out.push(f);
      }
      return out;
    }
    const limit = opts.last ?? Infinity;
    for (let i = this.#size - 1; i >= 0 && out.length < limit; i--) {
      const f = this.#at(i);
      if (ok(f)) out.push(f);
    }
    return out.reverse();
  }

  /** A subscription: stored flows first (`last`), then every matching flow as it comes. */
  follow(filter: FlowSelector, opts: FollowOptions = {}): FlowSubscription {
    const match = predicate(filter);
    const initial = opts.last !== undefined || opts.since !== undefined
      ? this.query(match, {
        ...(opts.last !== undefined ? { last: opts.last } : {}),
        ...(opts.since !== undefined ? { since: opts.since } : {}),
      })
      : [];
    const sub = new FlowSubscription(this.#nextSubId++, match, {
      buffer: positive("buffer", opts.buffer ?? this.subscriberBuffer),
      nodeName: this.nodeName,
      initial,
      ...(opts.signal ? { signal: opts.signal } : {}),
      onClose: (s) => {
        if (this.#subs.delete(s)) this.#endedDrops += s.stats().lost;
      },
    });
    if (!sub.closed) this.#subs.add(sub);
    return sub;
  }

  /**
   * Whether a follower that is reading (it took a flow within `movingMs`) has more than half of
   * its queue waiting: the producer may give it a moment before adding more. A follower that
   * stopped reading is not waited for.
   */
  followersBehind(movingMs = 100): boolean {
    for (const s of this.#subs) if (s.backlogged && s.readRecently(movingMs)) return true;
    return false;
  }

  stats(): FlowStoreStats {
    const subscribers = [...this.#subs].map((s) => s.stats());
    return {
      size: this.#size,
      capacity: this.capacity,
      seen: this.#seen,
      evicted: this.#evicted,
      byVerdict: { ...this.#byVerdict },
      lostBefore: { ...this.#lostBefore },
      subscribers,
      subscriberDrops: this.#endedDrops + subscribers.reduce((n, s) => n + s.lost, 0),
    };
  }

  /** Ends every subscription (the agent stops). */
  close(): void {
    for (const sub of [...this.#subs]) sub.close();
  }

  /** The i-th stored flow, 0 the oldest. */
  #at(i: number): Flow {
    const start = this.#size === this.capacity ? this.#next : 0;
    const j = start + i;
    return this.#ring[j >= this.capacity ? j - this.capacity : j]!;
  }
}

function predicate(filter: FlowSelector): FlowPredicate {
  if (filter === undefined) return () => true;
  return typeof filter === "function" ? filter : compileFilters(filter);
}

function timeCheck(opts: QueryOptions): (f: Flow) => boolean {
  const { since, until } = opts;
  if (since === undefined && until === undefined) return () => true;
  return (f) => {
    const t = flowTimeMs(f);
    return (since === undefined || t >= since) && (until === undefined || t <= until);
  };
}

function positive(name: string, n: number): number {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`FlowStore ${name} must be a positive integer, got ${n}`);
  }
  return n;
}
