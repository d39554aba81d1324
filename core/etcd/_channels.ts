// One HTTP client per endpoint, so the connection to one member can be dropped without touching
// the others. Over TLS every call to a member shares one HTTP/2 connection; when that connection
// goes half-open (the member's traffic is dropped, a middlebox forgot it) it would keep
// swallowing new requests until each times out, for as long as the pool keeps it. Retiring the
// endpoint's client makes the next call open a fresh connection. A retired client is closed once
// its last request settled: closing Deno's HttpClient under a body still being torn down leaves
// that reader hanging.
import type { EtcdTls } from "./types.ts";

interface Channel {
  client: Deno.HttpClient;
  pending: number;
  retired: boolean;
}

export interface Lease {
  client: Deno.HttpClient;
  /** Ends the use of the client (idempotent). */
  release(): void;
}

/** HTTP client options: HTTP/2 only over TLS (the watch stream needs it for its requests),
 * HTTP/1.1 in plain text (etcd's plain port serves the gateway over HTTP/1.1 only). */
export function httpClientOptions(tls: EtcdTls | undefined): Deno.CreateHttpClientOptions {
  if (!tls) return { http2: false };
  return {
    caCerts: [tls.caPem],
    ...(tls.certPem && tls.keyPem ? { cert: tls.certPem, key: tls.keyPem } : {}),
    http1: false,
    http2: true,
  } as Deno.CreateHttpClientOptions;
}

export class Channels {
  readonly #options: Deno.CreateHttpClientOptions;
  readonly #live = new Map<string, Channel>();
  #closed = false;

  /** Creates the clients at once, so bad TLS material fails here rather than at the first call. */
  constructor(endpoints: readonly string[], tls: EtcdTls | undefined) {
    this.#options = httpClientOptions(tls);
    try {
      for (const e of endpoints) this.#open(e);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** The endpoint's current client, counted as in use until released. */
  acquire(endpoint: string): Lease {
    if (this.#closed) throw new Error("the etcd client is closed");
    const ch = this.#live.get(endpoint) ?? this.#open(endpoint);
    ch.pending++;
    let released = false;
    return {
      client: ch.client,
      release: () => {
        if (released) return;
        released = true;
        ch.pending--;
        this.#closeIfIdle(ch);
      },
    };
  }

  /** Drops the endpoint's client: later calls get a new connection; this one closes when idle. */
  retire(endpoint: string): void {
    const ch = this.#live.get(endpoint);
    if (!ch) return;
    this.#live.delete(endpoint);
    ch.retired = true;
    this.#closeIfIdle(ch);
  }

  /** Retires every client; acquire() fails from now on. */
  close(): void {
    this.#closed = true;
    for (const endpoint of [...this.#live.keys()]) this.retire(endpoint);
  }

  #open(endpoint: string): Channel {
    const ch = { client: Deno.createHttpClient(this.#options), pending: 0, retired: false };
    this.#live.set(endpoint, ch);
    return ch;
  }

  #closeIfIdle(ch: Channel): void {
    if (ch.retired && ch.pending === 0) {
      ch.retired = false; // closed once
      ch.client.close();
    }
  }
}
