// Reads the datapath's flow events (the hypha_events ring buffer) and hands each record to a
// sink (the flow store, which keeps it and makes the Flow when it is read). Runs on the event
// loop: the wait for data is an epoll on a worker thread, and each wake-up drains the ring buffer. Events the ring buffer could not take are
// counted by the datapath (hypha_event_stats); the reader reports them as lost, never silently.
import { setImmediate } from "node:timers";
import { type BpfMap, RingBuffer } from "../bpf/mod.ts";
import type { EventStats } from "../bpf/generated/host.ts";
import type { Logger } from "../plugin/plugin.ts";

export interface FlowReaderOptions {
  events: BpfMap<undefined, undefined>;
  stats: BpfMap<number, EventStats[]>;
  /** Takes one record (a view the reader reuses: copy what is kept); throws on a malformed
   * one, which is counted and skipped. */
  sink: (record: Uint8Array) => void;
  /** Events the datapath could not queue since the last report. */
  onLost: (count: number) => void;
  log: Logger;
  /** Whether consumers are behind and reading: the reader then waits a little between
   * batches (FlowStore.followersBehind). */
  behind?: () => boolean;
  /** How long one wait for data lasts (also how quickly stop() returns). */
  pollMs?: number;
}

export interface FlowReaderStats {
  /** Events taken by the sink (the name predates keeping events undecoded). */
  decoded: number;
  /** Records the sink refused as malformed (a datapath/agent version skew). */
  malformed: number;
  /** From the datapath, summed over CPUs since the maps were created. */
  sent: number;
  /** The ring buffer was full. */
  lost: number;
  /** Drop events over the per-second budget (counted by the drop counters only). */
  limited: number;
}

/** Records handed to the sink between two yields to the event loop. */
export const READ_BATCH = 256;
/** The pause after draining the ring buffer (ms): flows are at most this much later. */
const PAUSE_MS = 100;
/** After a drain of more than BUSY_DRAIN events (a rate of ~30k/s at PAUSE_MS), pause less. */
const BUSY_DRAIN = 3000;
const BUSY_PAUSE_MS = 10;
/** The longest wait for consumers between two batches (ms). */
const PACE_MS = 5;

const sum = (xs: bigint[]) => Number(xs.reduce((a, b) => a + b, 0n));

export class FlowReader {
  readonly #o: FlowReaderOptions;
  readonly #rb: RingBuffer;
  #decoded = 0;
  #malformed = 0;
  #lostReported: number;
  #loop: Promise<void> | undefined;
  #running = false;

  constructor(o: FlowReaderOptions) {
    this.#o = o;
    this.#rb = new RingBuffer(o.events, (record) => this.#onRecord(record), { reuse: true });
    // Losses before this reader started are history, not news for its followers.
    this.#lostReported = this.#datapathStats().lost;
  }

  #onRecord(record: Uint8Array): void {
    try {
      this.#o.sink(record);
    } catch (err) {
      if (this.#malformed++ === 0) {
        this.#o.log.warn("undecodable flow event", { bytes: record.length, error: String(err) });
      }
      return;
    }
    this.#decoded++;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    const pollMs = this.#o.pollMs ?? 250;
    let lastLossCheck = 0;
    while (this.#running) {
      try {
        let drained = 0;
        if (await this.#rb.wait(pollMs)) {
          // in batches, yielding in between: followers' streams and the API keep moving while a
          // burst is read (a follower's queue only has to hold one batch)
          while (this.#running) {
            const n = this.#rb.consume(READ_BATCH);
            drained += n;
            if (n < READ_BATCH) break;
            // followers that read are given a moment to catch up (the ring buffer holds the
            // rest meanwhile); never more than PACE_MS per batch, whatever they do
            const until = performance.now() + PACE_MS;
            do await new Promise((r) => setImmediate(r)); while (
              this.#o.behind?.() && performance.now() < until
            );
          }
        }
        const now = Date.now();
        if (now - lastLossCheck >= 1000) {
          lastLossCheck = now;
          this.#reportLoss();
        }
        // Let events gather before the next wait: the ring buffer wakes its reader only when
        // the reader has caught up, so waiting again at once costs a wake-up (two thread
        // switches) per event or two at high rates, and each round costs the event loop more
        // than a few events do. Under a heavy load the pause is short, so that the ring buffer
        // (~30,000 events) does not fill meanwhile.
        await new Promise((r) => setTimeout(r, drained > BUSY_DRAIN ? BUSY_PAUSE_MS : PAUSE_MS));
      } catch (err) {
        this.#o.log.warn("reading flow events failed", { error: String(err) });
        await new Promise((r) => setTimeout(r, pollMs));
      }
    }
  }

  /** Drains what is queued now (tests, benchmarks); returns how many records. */
  drain(): number {
    const n = this.#rb.consume();
    this.#reportLoss();
    return n;
  }

  #reportLoss(): void {
    const { lost } = this.#datapathStats();
    if (lost > this.#lostReported) this.#o.onLost(lost - this.#lostReported);
    this.#lostReported = lost;
  }

  #datapathStats(): { sent: number; lost: number; limited: number } {
    const perCpu = this.#o.stats.lookup(0) ?? [];
    return {
      sent: sum(perCpu.map((s) => s.sent)),
      lost: sum(perCpu.map((s) => s.lost)),
      limited: sum(perCpu.map((s) => s.limited)),
    };
  }

  stats(): FlowReaderStats {
    return { decoded: this.#decoded, malformed: this.#malformed, ...this.#datapathStats() };
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    await this.#rb.close();
  }
}
