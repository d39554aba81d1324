// A watch on a key prefix that outlives its endpoint. It tracks the next revision it expects;
// when the stream breaks (member killed, network error, the member lost its leader, no `created`
// within the timeout) it reconnects with backoff through the next endpoint and resumes from that
// revision, so every event is delivered once and in order. A stream that goes silent is probed
// (_liveness.ts): over HTTP/2 (TLS) with a progress request on the stream itself, in plain HTTP/1.1
// (which cannot send on an open stream) with a status request to its member; when no sign of life
// comes within `livenessMs` the stream counts as broken, and the member's connection is replaced.
// When etcd has compacted the revision to resume from, or sends a message over the size limit,
// the watch cannot go on from there: it asks `onReset` for a new start revision (the caller
// re-lists), or, without one, stops with an EtcdError. A handler that throws stops the watch too.
import { int64, prefixRange, toWatchEvent, type WireEvent } from "./_codec.ts";
import { delay, jitter } from "./_delay.ts";
import { jsonObjects, MessageTooLargeError } from "./_json_stream.ts";
import { Liveness } from "./_liveness.ts";
import type { Transport } from "./_transport.ts";
import { EtcdError, GrpcCode } from "./errors.ts";
import type { EtcdLogger, KeyValue, WatchEvent } from "./types.ts";

export interface WatchOptions {
  /** First revision to deliver; by default the changes after the watch is created. */
  startRevision?: bigint;
  /** Fill `prevValue` in events (default true). */
  prevKv?: boolean;
  /** Called for each batch, in revision order; the next batch waits for the returned promise. */
  onEvents(events: WatchEvent[], revision: bigint): void | Promise<void>;
  /** Called when the revision to resume from was compacted; returns the revision to go on from. */
  onReset?(compactRevision: bigint): bigint | Promise<bigint>;
  signal?: AbortSignal;
}

export interface ListWatchHandlers {
  /** The whole prefix at `revision`: first, and again after each compaction reset. */
  onSnapshot(kvs: KeyValue[], revision: bigint): void | Promise<void>;
  onEvents(events: WatchEvent[], revision: bigint): void | Promise<void>;
  signal?: AbortSignal;
}

/** What EtcdClient hands a watch. */
export interface WatchContext {
  transport: Transport;
  timeoutMs: number;
  /** How long a stream may go without a sign of life (see _liveness.ts). */
  livenessMs: number;
  maxMessageBytes: number;
  logger?: EtcdLogger;
  onStop(): void;
  /** Sync before the first connect (listAndWatch): call onReset(0n) for the start revision. */
  resetFirst?: boolean;
}

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 2_000;

class HandlerError extends Error {}

interface WireWatchMessage {
  result?: {
    header?: { revision?: string };
    /** "-1" for the answer to a progress request (etcd 3.4+: not tied to one watch). */
    watch_id?: string;
    created?: boolean;
    canceled?: boolean;
    cancel_reason?: string;
    compact_revision?: string;
    events?: WireEvent[];
  };
  error?: { grpc_code?: number; message?: string };
}

export class Watch implements AsyncDisposable {
  readonly prefix: string;
  /** Resolves when the watch stops by close(); rejects when it stopped on an error. */
  readonly done: Promise<void>;
  /** Resolves once etcd has created the watch (or the watch stopped). */
  readonly ready: Promise<void>;
  readonly #opts: WatchOptions;
  readonly #ctx: WatchContext;
  readonly #closing = new AbortController();
  readonly #setReady: () => void;
  #next: bigint | undefined;
  #endpoint: string | undefined;
  #stream: AbortController | undefined;

  constructor(prefix: string, opts: WatchOptions, ctx: WatchContext) {
    this.prefix = prefix;
    this.#opts = opts;
    this.#ctx = ctx;
    this.#next = opts.startRevision;
    let setReady = () => {};
    this.ready = new Promise<void>((r) => (setReady = r));
    this.#setReady = setReady;
    const onAbort = () => void this.close();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    this.done = (opts.signal?.aborted ? Promise.resolve() : this.#run()).finally(() => {
      opts.signal?.removeEventListener("abort", onAbort);
      this.#closing.abort();
      this.#setReady();
      ctx.onStop();
    });
    this.done.catch(() => {}); // rejection is for whoever awaits done; never unhandled
  }

  /** The endpoint the stream is on, while connected. */
  get endpoint(): string | undefined {
    return this.#endpoint;
  }

  /** The revision the watch would resume from. */
  get nextRevision(): bigint | undefined {
    return this.#next;
  }

  async close(): Promise<void> {
    this.#closing.abort();
    this.#stream?.abort();
    await this.done.catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  get #closed(): boolean {
    return this.#closing.signal.aborted;
  }

  async #run(): Promise<void> {
    let backoff = BACKOFF_MIN_MS;
    const { transport, timeoutMs, livenessMs } = this.#ctx;
    while (!this.#closed) {
      const stream = new AbortController();
      this.#stream = stream;
      let endpoint: string | undefined;
      let createTimer: ReturnType<typeof setTimeout> | undefined;
      let liveness: Liveness | undefined;
      let silentMs: number | undefined;
      let close = () => {};
      try {
        if (this.#next === undefined && this.#ctx.resetFirst) this.#next = await this.#reset(0n);
        // Until etcd confirms the watch, a silent endpoint counts as a failed one.
        createTimer = setTimeout(() => stream.abort(), timeoutMs);
        const opened = await transport.stream(
          `watch "${this.prefix}"`,
          "/v3/watch",
          this.#request(),
          stream.signal,
          // The member cancels the watch when it loses its leader instead of going quiet.
          { "Grpc-Metadata-Hasleader": "true" },
        );
        close = opened.close;
        const at = endpoint = this.#endpoint = opened.endpoint;
        const send = opened.send;
        liveness = new Liveness({
          windowMs: livenessMs,
          probe: send
            ? () => send({ progress_request: {} })
            : () =>
              void transport.probe(at, livenessMs / 2, livenessMs / 2).then(
                () => liveness?.seen(),
                () => {}, // silence: the window runs out
              ),
          onDead: (ms) => {
            silentMs = ms;
            stream.abort();
          },
        });
        let restart = false;
        const messages = jsonObjects(opened.body, stream.signal, this.#ctx.maxMessageBytes);
        for await (const msg of messages) {
          liveness.seen();
          const outcome = await this.#handle(msg as WireWatchMessage, opened.staleToken);
          if (outcome === "created") {
            clearTimeout(createTimer);
            backoff = BACKOFF_MIN_MS;
            this.#setReady();
          } else if (outcome === "restart") {
            restart = true;
            break;
          }
        }
        if (!restart) throw new Error("stream ended");
      } catch (err) {
        if (this.#closed) return;
        if (err instanceof MessageTooLargeError) {
          await this.#tooLarge(err);
          continue;
        }
        if (err instanceof HandlerError || (err instanceof EtcdError && !err.unavailable)) {
          const cause = err instanceof HandlerError ? err.cause : err;
          this.#ctx.logger?.error("etcd watch stopped", {
            prefix: this.prefix,
            error: String((cause as Error)?.message ?? cause),
          });
          throw cause;
        }
        const at = endpoint ?? transport.current;
        const cause = silentMs !== undefined
          ? `no sign of life for ${silentMs} ms (liveness ${livenessMs} ms)`
          : stream.signal.aborted
          ? `no answer in ${timeoutMs} ms`
          : (err as Error).message;
        this.#ctx.logger?.warn("etcd watch interrupted, reconnecting", {
          prefix: this.prefix,
          endpoint: at,
          cause,
          resumeAt: this.#next?.toString() ?? "now",
        });
        if (silentMs !== undefined) transport.suspect(at, cause);
        else transport.demote(at, cause);
        await delay(jitter(backoff), this.#closing.signal);
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      } finally {
        clearTimeout(createTimer);
        liveness?.stop();
        stream.abort();
        close();
        this.#endpoint = undefined;
      }
    }
  }

  /** A message over the limit cannot be read, so the watch cannot pass its revision: re-list. */
  async #tooLarge(err: MessageTooLargeError): Promise<void> {
    const what = `etcd watch "${this.prefix}": ${err.message} (resuming at ${this.#next})`;
    if (!this.#opts.onReset) {
      this.#ctx.logger?.error("etcd watch stopped", { prefix: this.prefix, error: what });
      throw new EtcdError(`${what}: cannot skip it without a re-list`, { unavailable: false });
    }
    this.#ctx.logger?.warn("etcd watch message too large, listing again", {
      prefix: this.prefix,
      limit: err.limit,
    });
    this.#next = await this.#reset(0n);
  }

  #request(): unknown {
    return {
      create_request: {
        ...prefixRange(this.prefix),
        ...(this.#next === undefined ? {} : { start_revision: this.#next.toString() }),
        prev_kv: this.#opts.prevKv ?? true,
        progress_notify: true,
      },
    };
  }

  async #handle(
    msg: WireWatchMessage,
    staleToken: () => void,
  ): Promise<"created" | "restart" | "events"> {
    if (msg.error) {
      if (msg.error.grpc_code === GrpcCode.unauthenticated) staleToken();
      throw new EtcdError(`etcd watch "${this.prefix}": ${msg.error.message ?? "stream error"}`, {
        unavailable: true,
        ...(msg.error.grpc_code === undefined ? {} : { code: msg.error.grpc_code }),
      });
    }
    const r = msg.result ?? {};
    const revision = int64(r.header?.revision);
    const compacted = int64(r.compact_revision);
    if (compacted > 0n) {
      this.#next = await this.#reset(compacted);
      return "restart";
    }
    if (r.canceled) throw new Error(`watch canceled: ${r.cancel_reason || "no reason given"}`);
    if (r.created) {
      // Created "now": later events have revisions above the header's.
      this.#next ??= revision + 1n;
      return "created";
    }
    const next = this.#next ?? 0n;
    const events = (r.events ?? []).map(toWatchEvent).filter((e) => e.modRevision >= next);
    if (events.length > 0) {
      try {
        await this.#opts.onEvents(events, revision);
      } catch (err) {
        throw new HandlerError("onEvents threw", { cause: err });
      }
      this.#next = events[events.length - 1]!.modRevision + 1n;
    } else if (!r.events?.length && revision >= next && r.watch_id !== "-1") {
      // A progress notification of this watch: nothing up to `revision` is missing. (The answer
      // to a progress request, watch_id -1, says no such thing in etcd 3.4: it carries the
      // store's revision even while this watch is still catching up.)
      this.#next = revision + 1n;
    }
    return "events";
  }

  async #reset(compactRevision: bigint): Promise<bigint> {
    const onReset = this.#opts.onReset;
    if (!onReset) {
      throw new EtcdError(
        `etcd watch "${this.prefix}": revision ${this.#next} was compacted (oldest kept: ${compactRevision})`,
        { unavailable: false, code: GrpcCode.outOfRange },
      );
    }
    if (compactRevision > 0n) { // 0n: the first listing of listAndWatch, not a compaction
      this.#ctx.logger?.warn("etcd watch start revision compacted, resetting", {
        prefix: this.prefix,
        compactRevision: compactRevision.toString(),
      });
    }
    try {
      return await onReset(compactRevision);
    } catch (err) {
      // An unavailable etcd during a re-list is worth retrying; anything else is the handler's.
      if (err instanceof EtcdError && err.unavailable) throw err;
      throw new HandlerError("onReset threw", { cause: err });
    }
  }
}
