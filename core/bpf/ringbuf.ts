// Consuming a BPF ring buffer map. Samples are delivered synchronously from `consume()`; `poll()`
// waits for data on a worker thread (epoll) so the event loop is never blocked.
import { lib } from "./_libbpf.ts";
import { BpfError, bpfError } from "./errors.ts";

const SAMPLE_FN = { parameters: ["pointer", "pointer", "usize"], result: "i32" } as const;

export class RingBuffer implements AsyncDisposable {
  #rb: Deno.PointerValue;
  readonly #callback: Deno.UnsafeCallback<typeof SAMPLE_FN>;
  readonly #epollFd: number;
  #pending: Promise<number> | undefined;
  #error: unknown;

  /** `map` must be a BPF_MAP_TYPE_RINGBUF map; `onSample` gets a copy of each record. */
  constructor(
    map: { readonly fd: number; readonly info: { name: string; type: string } },
    onSample: (data: Uint8Array) => void,
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
          const view = new Deno.UnsafePointerView(data);
          onSample(new Uint8Array(view.getArrayBuffer(Number(size))).slice());
        }
        return 0;
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

  /** Delivers every available record; returns how many. */
  consume(): number {
    if (!this.#rb) throw new BpfError("consuming ring buffer", 9, "it is closed");
    const n = lib().bpf.ring_buffer__consume(this.#rb);
    if (this.#error !== undefined) {
      const err = this.#error;
      this.#error = undefined;
      throw err;
    }
    if (n < 0) throw bpfError("consuming ring buffer", n);
    return n;
  }

  /** Waits up to `timeoutMs` for data, then consumes it. */
  async poll(timeoutMs: number): Promise<number> {
    if (!this.#rb) throw new BpfError("polling ring buffer", 9, "it is closed");
    const events = new Uint8Array(12 * 4);
    this.#pending = lib().libc.epoll_wait(this.#epollFd, events, 4, Math.max(0, timeoutMs));
    const ready = await this.#pending;
    this.#pending = undefined;
    if (!this.#rb) return 0;
    return ready > 0 ? this.consume() : 0;
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
