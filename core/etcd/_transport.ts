// JSON to etcd's gRPC gateway (HTTP/1.1 in plain text, HTTP/2 over TLS), across several
// endpoints. A call goes to the endpoint that last answered; when it cannot answer (network error,
// timeout, 5xx) the next one is tried, round after round with a short backoff, until the call's
// deadline. Requests that are not safe to repeat (a txn that writes) are only sent again when the
// failure proves etcd never applied them. With etcd auth, every request carries a token
// (_auth.ts); answers are read up to a size limit.
import { linkedSignal, readText } from "./_abort.ts";
import { isStaleToken, TokenSource } from "./_auth.ts";
import { Channels } from "./_channels.ts";
import { delay, jitter } from "./_delay.ts";
import { DEFAULT_MAX_MESSAGE_BYTES } from "./_json_stream.ts";
import { EtcdError } from "./errors.ts";
import { describeFetchError, type Failure, gatewayFailure, isConnectError } from "./_failure.ts";
import type { EtcdAuth, EtcdLogger, EtcdTls } from "./types.ts";

export interface TransportOptions {
  logger?: EtcdLogger;
  tls?: EtcdTls;
  auth?: EtcdAuth;
  /** The largest answer read (default 16 MiB). */
  maxMessageBytes?: number;
}

/** An open streaming call. */
export interface OpenStream {
  body: ReadableStream<Uint8Array>;
  endpoint: string;
  /** Sends one more request on the stream; only over HTTP/2 (see Transport.duplex). */
  send?(msg: unknown): void;
  /** etcd refused the stream's token (an error inside the stream): authenticate again. */
  staleToken(): void;
  /** Ends the request and lets the connection go; call once the body is done or cancelled. */
  close(): void;
}

export interface CallOptions {
  /**
   * "always": sending the request twice is harmless (reads, puts, deletes, lease calls).
   * "ifNotSent": only when the failed attempt cannot have been applied (a connect error, or etcd
   * rejecting it up front for lack of a leader).
   */
  retry: "always" | "ifNotSent";
  /** The whole call's budget, all endpoints included; the client's timeout by default. */
  timeoutMs?: number;
  /** Ask only this endpoint (per-member calls such as status). */
  endpoint?: string;
  /** Send no token (the authenticate call itself). */
  anonymous?: boolean;
}

type Attempt = { json: unknown } | { failure: Failure };

export class Transport {
  readonly endpoints: readonly string[];
  /** Whether streams take more requests after the first (HTTP/2, i.e. TLS). */
  readonly duplex: boolean;
  readonly #timeoutMs: number;
  readonly #logger: EtcdLogger | undefined;
  readonly #maxBytes: number;
  readonly #channels: Channels;
  readonly #token: TokenSource | undefined;
  readonly #closing = new AbortController();
  /** When each endpoint last answered, for probes (ms since epoch). */
  readonly #answeredAt = new Map<string, number>();
  readonly #probes = new Map<string, Promise<void>>();
  #preferred = 0;

  constructor(endpoints: string[], timeoutMs: number, opts: TransportOptions = {}) {
    if (endpoints.length === 0) throw new TypeError("EtcdClient needs at least one endpoint");
    this.endpoints = endpoints.map((e) => {
      const url = URL.parse(e);
      if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
        throw new TypeError(`Invalid etcd endpoint "${e}": expected http(s)://host:port`);
      }
      if ((url.protocol === "https:") !== (opts.tls !== undefined)) {
        throw new TypeError(
          opts.tls
            ? `etcd endpoint "${e}" is not https although TLS is configured: use https://`
            : `etcd endpoint "${e}" is https: TLS needs the CA (tls.caPem)`,
        );
      }
      return e.replace(/\/+$/, "");
    });
    this.duplex = opts.tls !== undefined;
    this.#timeoutMs = timeoutMs;
    this.#logger = opts.logger;
    this.#maxBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#channels = new Channels(this.endpoints, opts.tls);
    const auth = opts.auth;
    if (auth) {
      this.#token = new TokenSource(async () => {
        const res = await this.call(
          `authenticate as ${JSON.stringify(auth.username)}`,
          "/v3/auth/authenticate",
          { name: auth.username, password: auth.password },
          { retry: "always", anonymous: true },
        ) as { token?: string };
        if (!res.token) {
          throw new EtcdError("etcd authenticate: the answer holds no token", {
            unavailable: false,
          });
        }
        return res.token;
      });
    }
  }

  /** The endpoint the next call goes to first. */
  get current(): string {
    return this.endpoints[this.#preferred]!;
  }

  get closed(): boolean {
    return this.#closing.signal.aborted;
  }

  /** Moves on from `endpoint` if calls still go there first (a stream on it broke). */
  demote(endpoint: string, cause: string): void {
    if (this.current !== endpoint || this.endpoints.length === 1) return;
    this.#switchTo((this.#preferred + 1) % this.endpoints.length, cause);
  }

  /** `endpoint` stopped answering on an open connection: move on and reconnect to it afresh. */
  suspect(endpoint: string, cause: string): void {
    this.#channels.retire(endpoint);
    this.demote(endpoint, cause);
  }

  /**
   * Resolves when `endpoint` answered within `freshMs`, or answers a status request within
   * `timeoutMs`; rejects otherwise. Probes of one endpoint at a time are shared.
   */
  probe(endpoint: string, freshMs: number, timeoutMs: number): Promise<void> {
    if (Date.now() - (this.#answeredAt.get(endpoint) ?? 0) < freshMs) return Promise.resolve();
    let probe = this.#probes.get(endpoint);
    if (!probe) {
      probe = this.call(`status of ${endpoint}`, "/v3/maintenance/status", {}, {
        retry: "always",
        endpoint,
        timeoutMs,
      }).then(() => {}).finally(() => this.#probes.delete(endpoint));
      this.#probes.set(endpoint, probe);
    }
    return probe;
  }

  async call(what: string, path: string, body: unknown, opts: CallOptions): Promise<unknown> {
    const timeoutMs = opts.timeoutMs ?? this.#timeoutMs;
    const deadline = Date.now() + timeoutMs;
    const payload = JSON.stringify(body);
    const endpoints = opts.endpoint ? [opts.endpoint] : this.endpoints;
    const n = endpoints.length;
    const causes = new Map<string, string>();
    let code: number | undefined;
    for (let round = 0;; round++) {
      const first = opts.endpoint ? 0 : this.#preferred;
      for (let k = 0; k < n; k++) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) break;
        const i = (first + k) % n;
        const endpoint = endpoints[i]!;
        // Endpoints left in this round share the budget, so one that hangs cannot eat it all.
        const budget = Math.max(remaining / (n - k), Math.min(remaining, 500));
        const attempt = await this.#attempt(what, endpoint, path, payload, budget, opts);
        if ("json" in attempt) {
          if (!opts.endpoint && i !== this.#preferred) this.#switchTo(i, causes.get(this.current));
          return attempt.json;
        }
        const f = attempt.failure;
        causes.set(endpoint, f.cause);
        code = f.code ?? code;
        const tried = [...causes.keys()];
        if (!f.retryable) {
          throw new EtcdError(`etcd ${what}: ${f.cause} (at ${endpoint})`, {
            unavailable: false,
            endpoints: tried,
            ...(f.code === undefined ? {} : { code: f.code }),
            ...(f.tooLarge ? { tooLarge: true } : {}),
          });
        }
        if (f.maybeApplied && opts.retry === "ifNotSent") {
          throw new EtcdError(
            `etcd ${what}: outcome unknown, not sent again: ${endpoint}: ${f.cause}`,
            {
              unavailable: true,
              endpoints: tried,
              ...(f.code === undefined ? {} : { code: f.code }),
            },
          );
        }
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0 || this.closed) {
        const detail = [...causes].map(([e, c]) => `${e}: ${c}`).join("; ");
        throw new EtcdError(
          `etcd ${what}: no endpoint answered in ${timeoutMs} ms (${detail || "no attempt"})`,
          { unavailable: true, endpoints: [...causes.keys()], ...(code ? { code } : {}) },
        );
      }
      await delay(Math.min(jitter(50 * 2 ** round), 1000, remaining), this.#closing.signal);
    }
  }

  /**
   * Opens a streaming call on the current endpoint (no failover: the caller reconnects and
   * demotes). Over HTTP/2 the request stays open for send(). The body must be read to the end or
   * cancelled (e.g. by aborting `signal`), then close() called.
   */
  async stream(
    what: string,
    path: string,
    body: unknown,
    signal: AbortSignal,
    headers: Record<string, string> = {},
  ): Promise<OpenStream> {
    const endpoint = this.current;
    const token = await this.#token?.get();
    const lease = this.#channels.acquire(endpoint);
    const encoder = new TextEncoder();
    let requests: ReadableStreamDefaultController<Uint8Array> | undefined;
    const requestBody = this.duplex
      ? new ReadableStream<Uint8Array>({ start: (c) => void (requests = c) })
      : JSON.stringify(body);
    const send = (msg: unknown) => {
      try {
        requests?.enqueue(encoder.encode(JSON.stringify(msg) + "\n"));
      } catch {
        // the request already ended: the stream is going away
      }
    };
    send(body);
    const close = () => {
      try {
        requests?.close();
      } catch {
        // cancelled with the fetch
      }
      lease.release();
    };
    const staleToken = () => this.#token?.invalidate(token);
    let res: Response;
    try {
      res = await fetch(`${endpoint}${path}`, {
        method: "POST",
        body: requestBody,
        headers: {
          "content-type": "application/json",
          ...(token === undefined ? {} : { authorization: token }),
          ...headers,
        },
        client: lease.client,
        signal, // the caller aborts its streams before closing the transport
      });
    } catch (err) {
      close();
      throw new EtcdError(`etcd ${what}: ${endpoint}: ${describeFetchError(err)}`, {
        unavailable: true,
        endpoints: [endpoint],
        cause: err,
      });
    }
    if (!res.ok || !res.body) {
      try {
        const f = gatewayFailure(res.status, await readText(res.body, signal, this.#maxBytes));
        if (isStaleToken(f.code, f.cause)) staleToken();
        throw new EtcdError(`etcd ${what}: ${f.cause} (at ${endpoint})`, {
          unavailable: f.retryable || isStaleToken(f.code, f.cause),
          endpoints: [endpoint],
          ...(f.code === undefined ? {} : { code: f.code }),
        });
      } finally {
        close();
      }
    }
    this.#answeredAt.set(endpoint, Date.now());
    return {
      body: res.body,
      endpoint,
      ...(this.duplex ? { send } : {}),
      staleToken,
      close,
    };
  }

  /** Aborts calls and streams in flight; later calls fail. Call close() once they settled. */
  abort(): void {
    this.#closing.abort();
  }

  /**
   * Releases the connections as soon as nothing uses them (streams must be done already):
   * closing Deno's HttpClient while an aborted body is still being torn down leaves its reader
   * hanging.
   */
  close(): void {
    this.abort();
    this.#channels.close();
  }

  #switchTo(i: number, cause: string | undefined): void {
    const from = this.current;
    this.#preferred = i;
    this.#logger?.warn("etcd endpoint unavailable, using the next one", {
      from,
      to: this.current,
      ...(cause ? { cause } : {}),
    });
  }

  async #attempt(
    what: string,
    endpoint: string,
    path: string,
    payload: string,
    timeoutMs: number,
    opts: CallOptions,
  ): Promise<Attempt> {
    if (this.closed) throw new EtcdError(`etcd ${what}: client is closed`, { unavailable: false });
    const token = opts.anonymous ? undefined : await this.#token?.get();
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), timeoutMs);
    const linked = linkedSignal(timeout.signal, this.#closing.signal);
    const lease = this.#channels.acquire(endpoint);
    try {
      const res = await fetch(`${endpoint}${path}`, {
        method: "POST",
        body: payload,
        headers: {
          "content-type": "application/json",
          ...(token === undefined ? {} : { authorization: token }),
        },
        client: lease.client,
        signal: linked.signal,
      });
      const text = await readText(res.body, linked.signal, this.#maxBytes, () => tooLarge);
      this.#answeredAt.set(endpoint, Date.now());
      if (res.ok) return { json: text ? JSON.parse(text) : {} };
      const failure = gatewayFailure(res.status, text);
      if (isStaleToken(failure.code, failure.cause)) {
        // Another attempt authenticates again; etcd checked the token before doing anything.
        this.#token?.invalidate(token);
        return { failure: { ...failure, retryable: true, maybeApplied: false } };
      }
      return { failure };
    } catch (err) {
      if (err === tooLarge) {
        return {
          failure: {
            cause: `the answer exceeds the limit of ${this.#maxBytes} bytes`,
            retryable: false,
            maybeApplied: true,
            tooLarge: true,
          },
        };
      }
      if (this.closed) {
        throw new EtcdError(`etcd ${what}: client closed`, { unavailable: false, cause: err });
      }
      if (timeout.signal.aborted) {
        // A connection that swallows requests may be half-open: the next call opens a new one.
        this.#channels.retire(endpoint);
        return {
          failure: {
            cause: `timed out after ${Math.round(timeoutMs)} ms`,
            retryable: true,
            maybeApplied: true,
          },
        };
      }
      const cause = describeFetchError(err);
      return { failure: { cause, retryable: true, maybeApplied: !isConnectError(err) } };
    } finally {
      clearTimeout(timer);
      linked.release();
      lease.release();
    }
  }
}

/** Thrown by readText() in #attempt for an answer over the limit (one value, never shown). */
const tooLarge = new Error("too large");
