// The node's flow store: a bounded ring of the most recent flows (O(1) insert, the oldest evicted),
// queries like `hubble observe` (newest last: `last: N` is the N most recent matching flows in
// time order), counters, and `--follow` subscriptions, each with its own bounded queue so that a
// slow or stuck reader never blocks `add()` or other readers (core/flows/subscription.ts).
// The datapath's events are kept as they came (addEvent: 128 bytes and a few references each,
// core/flows/event_log.ts) and become Flow objects only when read: a query, a follower, the
// export. Flows added as objects (add) are kept as they are.
import { type Flow, type Verdict, VERDICT_BY_CODE, VERDICTS } from "./flow.ts";
import type { FlowDecoder } from "./decode.ts";
import { EventLog } from "./event_log.ts";
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
  /** Makes flows of the datapath's events (needed for addEvent). */
  decoder?: FlowDecoder;
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
  /** Flows added as objects; undefined where the slot holds an event of #log. */
  readonly #ring: Array<Flow | undefined>;
  readonly #log: EventLog | undefined;
  readonly #decoder: FlowDecoder | undefined;
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
    this.#ring = new Array(this.capacity).fill(undefined);
    this.#decoder = opts.decoder;
    this.#log = opts.decoder ? new EventLog(this.capacity) : undefined;
  }

  get size(): number {
    return this.#size;
  }

  /** Stores a flow (evicting the oldest when full) and offers it to every follower. O(1). */
  add(flow: Flow): void {
    this.#ring[this.#claim()] = flow;
    if (flow.verdict in this.#byVerdict) this.#byVerdict[flow.verdict]++;
    this.#offer(flow);
  }

  /**
   * Stores a datapath event (a ring buffer record, copied: the caller may reuse it). Its Flow is
   * made now only when a follower is waiting for flows or `want` asks for it (and returned);
   * otherwise when it is read. Throws on a record of the wrong size, storing nothing.
   */
  addEvent(record: Uint8Array, want = false): Flow | undefined {
    const log = this.#log;
    if (!log) throw new Error("FlowStore: addEvent needs a decoder (FlowStoreOptions.decoder)");
    const slot = this.#next;
    this.#decoder!.capture(record, log, slot);
    this.#ring[this.#claim()] = undefined;
    const verdict = VERDICT_BY_CODE[log.verdict(slot)];
    if (verdict) this.#byVerdict[verdict]++;
    if (!want && this.#subs.size === 0) return undefined;
    const flow = this.#decoder!.materialize(log, slot);
    this.#offer(flow);
    return flow;
  }

  /** The slot of the next flow, counted (the oldest is evicted when full). */
  #claim(): number {
    const slot = this.#next;
    if (this.#size === this.capacity) this.#evicted++;
    else this.#size++;
    this.#next = slot + 1 === this.capacity ? 0 : slot + 1;
    this.#seen++;
    return slot;
  }

  #offer(flow: Flow): void {
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
    let j = start + i;
    if (j >= this.capacity) j -= this.capacity;
    return this.#ring[j] ?? this.#decoder!.materialize(this.#log!, j);
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
