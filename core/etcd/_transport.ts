// JSON over HTTP/1.1 to etcd's gRPC gateway, across several endpoints. A call goes to the endpoint
// that last answered; when it cannot answer (network error, timeout, 5xx) the next one is tried,
// round after round with a short backoff, until the call's deadline. Requests that are not safe to
// repeat (a txn that writes) are only sent again when the failure proves etcd never applied them.
import { linkedSignal, readText } from "./_abort.ts";
import { delay, jitter } from "./_delay.ts";
import { EtcdError, GrpcCode } from "./errors.ts";
import type { EtcdLogger } from "./types.ts";

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
}

interface Failure {
  cause: string;
  /** Worth trying another endpoint: the endpoint, not the request, is the problem. */
  retryable: boolean;
  /** etcd may have applied the request although the call failed. */
  maybeApplied: boolean;
  code?: number;
}

type Attempt = { json: unknown } | { failure: Failure };

/** Errors etcd returns before proposing a request, so the request was not applied. */
const REJECTED_UP_FRONT = /no leader|too many requests|not capable/;

export class Transport {
  readonly endpoints: readonly string[];
  readonly #timeoutMs: number;
  readonly #logger: EtcdLogger | undefined;
  readonly #http = Deno.createHttpClient({ http2: false });
  readonly #closing = new AbortController();
  #preferred = 0;
  #httpOpen = true;
  #pending = 0; // unary calls in flight

  constructor(endpoints: string[], timeoutMs: number, logger?: EtcdLogger) {
    if (endpoints.length === 0) throw new TypeError("EtcdClient needs at least one endpoint");
    this.endpoints = endpoints.map((e) => {
      const url = URL.parse(e);
      if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
        this.#http.close();
        throw new TypeError(`Invalid etcd endpoint "${e}": expected http(s)://host:port`);
      }
      return e.replace(/\/+$/, "");
    });
    this.#timeoutMs = timeoutMs;
    this.#logger = logger;
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
        const attempt = await this.#attempt(what, endpoint, path, payload, budget);
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
   * demotes). The body must be read to the end or cancelled, e.g. by aborting `signal`.
   */
  async stream(
    what: string,
    path: string,
    body: unknown,
    signal: AbortSignal,
    headers: Record<string, string> = {},
  ): Promise<{ body: ReadableStream<Uint8Array>; endpoint: string }> {
    const endpoint = this.current;
    let res: Response;
    try {
      res = await fetch(`${endpoint}${path}`, {
        method: "POST",
        body: JSON.stringify(body),
        headers: { "content-type": "application/json", ...headers },
        client: this.#http,
        signal, // the caller aborts its streams before closing the transport
      });
    } catch (err) {
      throw new EtcdError(`etcd ${what}: ${endpoint}: ${describeFetchError(err)}`, {
        unavailable: true,
        endpoints: [endpoint],
        cause: err,
      });
    }
    if (!res.ok || !res.body) {
      const f = gatewayFailure(res.status, await readText(res.body, signal));
      throw new EtcdError(`etcd ${what}: ${f.cause} (at ${endpoint})`, {
        unavailable: f.retryable,
        endpoints: [endpoint],
        ...(f.code === undefined ? {} : { code: f.code }),
      });
    }
    return { body: res.body, endpoint };
  }

  /** Aborts calls and streams in flight; later calls fail. Call close() once they settled. */
  abort(): void {
    this.#closing.abort();
  }

  /**
   * Releases the connections once no call is pending (streams must be done already): closing
   * Deno's HttpClient while an aborted body is still being torn down leaves its reader hanging.
   */
  close(): void {
    this.abort();
    this.#releaseIfIdle();
  }

  #releaseIfIdle(): void {
    if (this.closed && this.#pending === 0 && this.#httpOpen) {
      this.#httpOpen = false;
      this.#http.close();
    }
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
  ): Promise<Attempt> {
    if (this.closed) throw new EtcdError(`etcd ${what}: client is closed`, { unavailable: false });
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), timeoutMs);
    const linked = linkedSignal(timeout.signal, this.#closing.signal);
    this.#pending++;
    try {
      const res = await fetch(`${endpoint}${path}`, {
        method: "POST",
        body: payload,
        headers: { "content-type": "application/json" },
        client: this.#http,
        signal: linked.signal,
      });
      const text = await readText(res.body, linked.signal);
      if (res.ok) return { json: text ? JSON.parse(text) : {} };
      return { failure: gatewayFailure(res.status, text) };
    } catch (err) {
      if (this.closed) {
        throw new EtcdError(`etcd ${what}: client closed`, { unavailable: false, cause: err });
      }
      if (timeout.signal.aborted) {
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
      this.#pending--;
      this.#releaseIfIdle();
    }
  }
}

/**
 * An error answer of the gateway: `{"error": "...", "message": "...", "code": <gRPC code>}` for
 * unary calls, `{"error": {"grpc_code": 14, "message": "...", ...}}` for streams.
 */
function gatewayFailure(status: number, text: string): Failure {
  let message = text.trim() || `HTTP ${status}`;
  let code: number | undefined;
  try {
    const body = JSON.parse(text) as {
      message?: string;
      error?: string | { message?: string; grpc_code?: number };
      code?: number;
    };
    const inner = typeof body.error === "object" ? body.error : { message: body.error };
    message = body.message ?? inner.message ?? message;
    code = body.code ?? (typeof body.error === "object" ? body.error.grpc_code : undefined);
  } catch {
    // not JSON: keep the text
  }
  const retryable = status >= 500 || code === GrpcCode.unavailable;
  return {
    cause: message,
    retryable,
    maybeApplied: !REJECTED_UP_FRONT.test(message),
    ...(code === undefined ? {} : { code }),
  };
}

function errorText(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string } };
  return String(e?.cause?.message ?? e?.message ?? err);
}

/** The useful part of a fetch error: "connection refused" rather than the URL and layers. */
export function describeFetchError(err: unknown): string {
  const text = errorText(err);
  if (/connection refused/i.test(text)) return "connection refused";
  if (/connection reset/i.test(text)) return "connection reset";
  return text.replace(/^error sending request for url \([^)]*\): /, "");
}

function isConnectError(err: unknown): boolean {
  return /\(Connect\)|tcp connect error|connection refused/i.test(errorText(err));
}
