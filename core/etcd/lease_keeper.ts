// Keeps a lease alive from the background: a keep-alive every TTL/3 (the TTL etcd answers with),
// through whichever endpoint answers. Failed keep-alives are retried sooner and logged; only
// etcd's word that the lease is gone (TTL 0: expired, revoked or unknown) counts as lost, and is
// reported once through `onLost`, after which the keeper stops.
import { jitter } from "./_delay.ts";
import type { EtcdLogger } from "./types.ts";

export interface LeaseKeeperOptions {
  onLost?(id: bigint, reason: string): void;
  logger?: EtcdLogger;
}

/** What the keeper needs from EtcdClient. */
export interface KeepAliveApi {
  keepAliveOnce(id: bigint, opts?: { timeoutMs?: number }): Promise<number>;
}

export class LeaseKeeper implements AsyncDisposable {
  readonly id: bigint;
  readonly #api: KeepAliveApi;
  readonly #opts: LeaseKeeperOptions;
  readonly #onStop: (() => void) | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inFlight: Promise<void> | undefined;
  #stopped = false;
  #lost = false;
  #ttl: number | undefined;

  /** Starts at once with a first keep-alive, which also learns the TTL. */
  constructor(api: KeepAliveApi, id: bigint, opts: LeaseKeeperOptions = {}, onStop?: () => void) {
    this.#api = api;
    this.id = id;
    this.#opts = opts;
    this.#onStop = onStop;
    this.#schedule(0);
  }

  /** True once etcd said the lease is gone. */
  get lost(): boolean {
    return this.#lost;
  }

  /** The TTL (seconds) of the last successful keep-alive. */
  get ttl(): number | undefined {
    return this.#ttl;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Stops keeping the lease alive (it then expires after its TTL unless revoked). */
  async stop(): Promise<void> {
    this.#halt();
    await this.#inFlight;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  #halt(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#onStop?.();
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#inFlight = this.#keepAlive().finally(() => (this.#inFlight = undefined));
    }, ms);
  }

  async #keepAlive(): Promise<void> {
    const intervalMs = (this.#ttl ?? 3) * 1000 / 3;
    let ttl: number;
    try {
      // Bounded by the interval so a hanging endpoint cannot outlast the lease.
      ttl = await this.#api.keepAliveOnce(this.id, { timeoutMs: Math.max(intervalMs, 1000) });
    } catch (err) {
      if (this.#stopped) return;
      this.#opts.logger?.warn("Lease keep-alive failed, retrying", {
        lease: this.id.toString(),
        error: (err as Error).message,
      });
      this.#schedule(jitter(Math.min(intervalMs / 2, 1000)));
      return;
    }
    if (this.#stopped) return;
    if (ttl > 0) {
      this.#ttl = ttl;
      this.#schedule(ttl * 1000 / 3);
      return;
    }
    this.#lost = true;
    const reason = `lease ${this.id} expired or was revoked`;
    this.#opts.logger?.warn("Lease lost", { lease: this.id.toString() });
    this.#halt();
    try {
      this.#opts.onLost?.(this.id, reason);
    } catch (err) {
      this.#opts.logger?.error("Lease onLost handler threw", {
        lease: this.id.toString(),
        error: String(err),
      });
    }
  }
}
