// One `--follow` reader of the flow store. Each has its OWN bounded queue: the store hands it
// matching flows without waiting (`offer` never blocks), and when the reader is slow and its
// queue is full, further flows are dropped for this reader only and counted. When the queue has
// room again (or the reader has drained it), the reader gets a lost-events notice saying how many
// it missed, at the place in the stream where they are missing, as Hubble does.
import type { Flow } from "./flow.ts";
import {
  type FlowEvent,
  flowRecord,
  type LostEventSource,
  type LostEventsRecord,
  lostEventsRecord,
} from "./events.ts";
import type { FlowPredicate } from "./filter.ts";

export interface SubscriberStats {
  id: number;
  since: string;
  /** Queue capacity and what waits in it now. */
  buffer: number;
  queued: number;
  delivered: number;
  /** Flows dropped for this reader because its queue was full. */
  lost: number;
}

type Item = Flow | LostEventsRecord;

export class FlowSubscription implements AsyncIterableIterator<FlowEvent> {
  readonly since = new Date().toISOString();
  readonly #queue: Array<Item | undefined>;
  #head = 0;
  #length = 0;
  #initial: readonly Flow[];
  #initialAt = 0;
  /** Losses not yet told to the reader, by source. */
  readonly #pending = new Map<LostEventSource, number>();
  #lost = 0;
  #delivered = 0;
  /** performance.now() of the last event given to the reader. */
  #lastRead = performance.now();
  #waiter: ((r: IteratorResult<FlowEvent>) => void) | undefined;
  #closed = false;

  constructor(
    readonly id: number,
    readonly match: FlowPredicate,
    private readonly opts: {
      buffer: number;
      nodeName: string;
      /** Stored flows to give first (`--follow --last N`). */
      initial?: readonly Flow[];
      signal?: AbortSignal;
      onClose: (sub: FlowSubscription) => void;
    },
  ) {
    this.#queue = new Array(opts.buffer);
    this.#initial = opts.initial ?? [];
    if (opts.signal?.aborted) this.close();
    else opts.signal?.addEventListener("abort", () => this.close(), { once: true });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Events next() would give at once (a writer batches them into one write). */
  get available(): number {
    return this.#length + this.#pending.size + (this.#initial.length - this.#initialAt);
  }

  /** Takes a matching flow; drops and counts it when the queue is full. Never blocks. */
  offer(flow: Flow): void {
    if (this.#closed) return;
    if (this.#waiter && this.#length === 0 && this.#pending.size === 0 && this.#initialDone()) {
      this.#deliver(flowRecord(flow));
      return;
    }
    if (!this.#flushPending() || this.#length === this.#queue.length) {
      this.#lost++;
      // A notice still queued at the tail stands right before this gap: it grows instead of
      // another notice following it.
      const tail = this.#queue[(this.#head + this.#length - 1) % this.#queue.length];
      if (tail && "lost_events" in tail && tail.lost_events.source === "HUBBLE_RING_BUFFER") {
        tail.lost_events.num_events_lost++;
      } else {
        this.#addPending("HUBBLE_RING_BUFFER", 1);
      }
      return;
    }
    this.#push(flow);
  }

  /** Losses before the store (the datapath's ring buffer, the decoder): told in order. */
  offerLost(source: LostEventSource, count: number): void {
    if (this.#closed || count <= 0) return;
    this.#addPending(source, count);
    if (this.#waiter && this.#length === 0 && this.#initialDone()) this.#flushPending();
  }

  /** Whether the reader took an event within the last `ms` (a reader that is moving). */
  readRecently(ms: number): boolean {
    return performance.now() - this.#lastRead < ms;
  }

  /** Whether more than half of the queue waits for the reader. */
  get backlogged(): boolean {
    return this.#length * 2 > this.#queue.length;
  }

  next(): Promise<IteratorResult<FlowEvent>> {
    this.#lastRead = performance.now();
    if (this.#initialAt < this.#initial.length) {
      const flow = this.#initial[this.#initialAt++]!;
      if (this.#initialAt === this.#initial.length) this.#initial = [];
      this.#delivered++;
      return Promise.resolve({ value: flowRecord(flow), done: false });
    }
    if (this.#length > 0) {
      const item = this.#queue[this.#head]!;
      this.#queue[this.#head] = undefined;
      this.#head = (this.#head + 1) % this.#queue.length;
      this.#length--;
      return Promise.resolve({ value: this.#event(item), done: false });
    }
    const notice = this.#takePending();
    if (notice) return Promise.resolve({ value: notice, done: false });
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.#waiter = resolve));
  }

  return(): Promise<IteratorResult<FlowEvent>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Ends the stream (the reader went away, or the store stops); idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.fill(undefined);
    this.#length = 0;
    this.#initial = [];
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.({ value: undefined, done: true });
    this.opts.onClose(this);
  }

  stats(): SubscriberStats {
    return {
      id: this.id,
      since: this.since,
      buffer: this.#queue.length,
      queued: this.#length + (this.#initial.length - this.#initialAt),
      delivered: this.#delivered,
      lost: this.#lost,
    };
  }

  #initialDone(): boolean {
    return this.#initialAt >= this.#initial.length;
  }

  #event(item: Item): FlowEvent {
    if ("lost_events" in item) return item;
    this.#delivered++;
    return flowRecord(item);
  }

  #deliver(e: FlowEvent): void {
    const w = this.#waiter!;
    this.#waiter = undefined;
    if (!("lost_events" in e)) this.#delivered++;
    w({ value: e, done: false });
  }

  #push(item: Item): void {
    this.#queue[(this.#head + this.#length) % this.#queue.length] = item;
    this.#length++;
  }

  #addPending(source: LostEventSource, n: number): void {
    this.#pending.set(source, (this.#pending.get(source) ?? 0) + n);
  }

  /** Moves pending notices into the queue (or to a waiting reader); false if they did not fit. */
  #flushPending(): boolean {
    while (this.#pending.size) {
      if (this.#waiter && this.#length === 0 && this.#initialDone()) {
        this.#deliver(this.#takePending()!);
        continue;
      }
      if (this.#length === this.#queue.length) return false;
      this.#push(this.#takePending()!);
    }
    return true;
  }

  #takePending(): LostEventsRecord | undefined {
    for (const [source, n] of this.#pending) {
      this.#pending.delete(source);
      return lostEventsRecord(source, n, this.opts.nodeName);
    }
    return undefined;
  }
}
