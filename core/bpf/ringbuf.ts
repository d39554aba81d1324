// Consuming a BPF ring buffer map. Samples are delivered synchronously from `consume()`; `poll()`
// waits for data on a worker thread (epoll) so the event loop is never blocked.
import { lib } from "./_libbpf.ts";
import { BpfError, bpfError } from "./errors.ts";

const SAMPLE_FN = { parameters: ["pointer", "pointer", "usize"], result: "i32" } as const;
/** What the sample callback returns to end a consume() early (libbpf passes it through). */
const STOP = -125; // -ECANCELED

export class RingBuffer implements AsyncDisposable {
  #rb: Deno.PointerValue;
  readonly #callback: Deno.UnsafeCallback<typeof SAMPLE_FN>;
  readonly #epollFd: number;
  #pending: Promise<number> | undefined;
  #error: unknown;
  #scratch = new Uint8Array(256);
  /** Records consume(max) may still deliver; undefined: no limit. */
  #budget: number | undefined;

  /**
   * `map` must be a BPF_MAP_TYPE_RINGBUF map; `onSample` gets a copy of each record. With
   * `reuse`, the copy lands in one buffer the reader reuses: the record is only valid during
   * the callback (no allocation per record, for high event rates).
   */
  constructor(
    map: { readonly fd: number; readonly info: { name: string; type: string } },
    onSample: (data: Uint8Array) => void,
    { reuse = false }: { reuse?: boolean } = {},
  ) {
    if (map.info.type !== "ringbuf") {
      throw new BpfError(
        `reading ring buffer "${map.info.name}"`,
        22,
        `it is a ${map.info.type} map`,
      );
    }
    this.#callback = new Deno.UnsafeCallback(SAMPLE_FN, (_ctx, data, size) => {
      try {
        if (data) {
          const n = Number(size);
          const view = new Deno.UnsafePointerView(data);
          if (!reuse) onSample(new Uint8Array(view.getArrayBuffer(n)).slice());
          else {
            if (this.#scratch.length < n) this.#scratch = new Uint8Array(Math.max(n, 256));
            view.copyInto(this.#scratch.subarray(0, n));
            onSample(this.#scratch.subarray(0, n));
          }
        }
        // libbpf has consumed this record either way: stop after it once consume(max) has all
        return this.#budget !== undefined && --this.#budget <= 0 ? STOP : 0;
      } catch (err) {
        this.#error = err;
        return -1; // stops this consume() round; the error is rethrown to the caller
      }
    });
    const rb = lib().bpf.ring_buffer__new(map.fd, this.#callback.pointer, null, null);
    if (!rb) {
      this.#callback.close();
      throw bpfError(
        `opening ring buffer "${map.info.name}"`,
        Number(lib().bpf.libbpf_get_error(null)) || -22,
      );
    }
    this.#rb = rb;
    this.#epollFd = lib().bpf.ring_buffer__epoll_fd(rb);
  }

  /**
   * Delivers the available records, at most `max` (then returns, leaving the rest for the next
   * call: a caller that yields in between keeps its event loop responsive); returns how many.
   */
  consume(max?: number): number {
    if (!this.#rb) throw new BpfError("consuming ring buffer", 9, "it is closed");
    if (max !== undefined && max < 1) throw new RangeError(`consume(${max}): max must be >= 1`);
    this.#budget = max;
    const n = lib().bpf.ring_buffer__consume(this.#rb);
    this.#budget = undefined;
    if (this.#error !== undefined) {
      const err = this.#error;
      this.#error = undefined;
      throw err;
    }
    if (n === STOP && max !== undefined) return max;
    if (n < 0) throw bpfError("consuming ring buffer", n);
    return n;
  }

  /** Waits up to `timeoutMs` for data (on a worker thread); returns whether some is there. */
  async wait(timeoutMs: number): Promise<boolean> {
    if (!this.#rb) throw new BpfError("polling ring buffer", 9, "it is closed");
    const events = new Uint8Array(12 * 4);
    this.#pending = lib().libc.epoll_wait(this.#epollFd, events, 4, Math.max(0, timeoutMs));
    const ready = await this.#pending;
    this.#pending = undefined;
    return ready > 0 && this.#rb !== null;
  }

  /** Waits up to `timeoutMs` for data, then consumes it. */
  async poll(timeoutMs: number): Promise<number> {
    return (await this.wait(timeoutMs)) ? this.consume() : 0;
  }

  async close(): Promise<void> {
    const rb = this.#rb;
    this.#rb = null;
    if (this.#pending) await this.#pending.catch(() => 0);
    if (rb) lib().bpf.ring_buffer__free(rb);
    this.#callback.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
