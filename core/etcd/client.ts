// An etcd v3 client over the gRPC-JSON gateway (HTTP/1.1, no gRPC library): key-value, txn,
// leases, watches and member status. See _transport.ts for failover and retries, watch.ts for
// resumable watches and lease_keeper.ts for background keep-alives. Keys and values are UTF-8
// strings; revisions, versions and lease IDs are bigint.
import {
  decodeText,
  encodeText,
  int64,
  prefixRange,
  smallInt,
  toKeyValue,
  type WireKeyValue,
} from "./_codec.ts";
import { Transport } from "./_transport.ts";
import { EtcdError, GrpcCode } from "./errors.ts";
import { LeaseKeeper, type LeaseKeeperOptions } from "./lease_keeper.ts";
import { decodeTxn, encodeTxn, type TxnRequest, type TxnResult, txnWrites } from "./txn.ts";
import type {
  DeleteResult,
  EtcdLogger,
  KeyValue,
  LeaseInfo,
  MemberStatus,
  PutResult,
  RangeResult,
} from "./types.ts";
import { type ListWatchHandlers, Watch, type WatchOptions } from "./watch.ts";

export interface EtcdClientOptions {
  /** Client URLs of the members, e.g. "http://127.0.0.1:2379". */
  endpoints: string[];
  /** Budget of one call, all endpoints and retries included (default 5000 ms). */
  timeoutMs?: number;
  logger?: EtcdLogger;
}

export interface CallOptions {
  timeoutMs?: number;
}

interface WireHeader {
  header?: { revision?: string };
}

const quote = (s: string) => JSON.stringify(s);

export class EtcdClient implements AsyncDisposable {
  readonly #transport: Transport;
  readonly #timeoutMs: number;
  readonly #logger: EtcdLogger | undefined;
  readonly #children = new Set<{ close(): Promise<void> }>();

  constructor(opts: EtcdClientOptions) {
    this.#timeoutMs = opts.timeoutMs ?? 5_000;
    this.#logger = opts.logger;
    this.#transport = new Transport(opts.endpoints, this.#timeoutMs, opts.logger);
  }

  get endpoints(): readonly string[] {
    return this.#transport.endpoints;
  }

  /** The endpoint the next call goes to first: the last one that answered. */
  get endpoint(): string {
    return this.#transport.current;
  }

  async get(key: string, opts: CallOptions = {}): Promise<KeyValue | undefined> {
    const res = await this.#range(`get ${quote(key)}`, { key: encodeText(key) }, opts);
    return res.kvs[0];
  }

  /** Every key starting with `prefix` ("" for all), sorted by key, at one revision. */
  getPrefix(prefix: string, opts: CallOptions = {}): Promise<RangeResult> {
    return this.#range(`get prefix ${quote(prefix)}`, prefixRange(prefix), opts);
  }

  async put(key: string, value: string, opts: { lease?: bigint } = {}): Promise<PutResult> {
    const res = await this.#call(`put ${quote(key)}`, "/v3/kv/put", {
      key: encodeText(key),
      value: encodeText(value),
      ...(opts.lease ? { lease: opts.lease.toString() } : {}),
    }) as WireHeader;
    return { revision: int64(res.header?.revision) };
  }

  delete(key: string): Promise<DeleteResult> {
    return this.#deleteRange(`delete ${quote(key)}`, { key: encodeText(key) });
  }

  deletePrefix(prefix: string): Promise<DeleteResult> {
    return this.#deleteRange(`delete prefix ${quote(prefix)}`, prefixRange(prefix));
  }

  /**
   * Runs a transaction. One that writes is only re-sent to another endpoint when the failed
   * attempt provably was not applied; otherwise it fails with `unavailable` and the caller
   * re-reads before retrying.
   */
  async txn(req: TxnRequest): Promise<TxnResult> {
    const keys = [...new Set([...req.compare ?? [], ...req.success ?? []].map((x) => x.key))];
    const res = await this.#transport.call(
      `txn on ${keys.map(quote).join(", ") || "no keys"}`,
      "/v3/kv/txn",
      encodeTxn(req),
      { retry: txnWrites(req) ? "ifNotSent" : "always" },
    );
    return decodeTxn(res);
  }

  /** Discards history before `revision`; watches cannot start earlier afterwards. */
  async compact(revision: bigint, opts: { physical?: boolean } = {}): Promise<void> {
    await this.#call(`compact at ${revision}`, "/v3/kv/compaction", {
      revision: revision.toString(),
      physical: opts.physical ?? false,
    });
  }

  /** Status of the member behind `endpoint` (default: whichever answers). */
  async status(endpoint?: string): Promise<MemberStatus> {
    const res = await this.#transport.call(
      `status${endpoint ? ` of ${endpoint}` : ""}`,
      "/v3/maintenance/status",
      {},
      { retry: "always", ...(endpoint ? { endpoint } : {}) },
    ) as {
      header?: { member_id?: string; revision?: string };
      version?: string;
      dbSize?: string;
      leader?: string;
      raftIndex?: string;
      raftTerm?: string;
    };
    return {
      endpoint: endpoint ?? this.endpoint,
      version: res.version ?? "",
      memberId: int64(res.header?.member_id),
      leader: int64(res.leader),
      revision: int64(res.header?.revision),
      raftTerm: int64(res.raftTerm),
      raftIndex: int64(res.raftIndex),
      dbSize: smallInt(res.dbSize),
    };
  }

  /** Grants a lease of `ttlSeconds` and returns its ID. */
  async grant(ttlSeconds: number): Promise<bigint> {
    const res = await this.#call(`lease grant of ${ttlSeconds} s`, "/v3/lease/grant", {
      TTL: String(ttlSeconds),
    }) as { ID?: string; error?: string };
    if (res.error) throw new EtcdError(`etcd lease grant: ${res.error}`, { unavailable: false });
    return int64(res.ID);
  }

  /** Revokes a lease, deleting its keys. A lease that is already gone counts as revoked. */
  async revoke(id: bigint): Promise<void> {
    try {
      await this.#call(`lease revoke of ${id}`, "/v3/lease/revoke", { ID: id.toString() });
    } catch (err) {
      if (!(err instanceof EtcdError && err.code === GrpcCode.notFound)) throw err;
    }
  }

  /** Renews a lease once; returns its TTL in seconds, 0 when it expired or never existed. */
  async keepAliveOnce(id: bigint, opts: CallOptions = {}): Promise<number> {
    // A bidirectional stream in gRPC; through the gateway one request gets one `result`.
    const res = await this.#call(`lease keep-alive of ${id}`, "/v3/lease/keepalive", {
      ID: id.toString(),
    }, opts) as { result?: { TTL?: string } };
    return smallInt(res.result?.TTL);
  }

  /** What etcd knows of a lease, or undefined when it does not exist. */
  async timeToLive(id: bigint, opts: { keys?: boolean } = {}): Promise<LeaseInfo | undefined> {
    const res = await this.#call(`lease time-to-live of ${id}`, "/v3/lease/timetolive", {
      ID: id.toString(),
      keys: opts.keys ?? false,
    }) as { TTL?: string; grantedTTL?: string; keys?: string[] };
    const ttl = smallInt(res.TTL);
    if (ttl < 0) return undefined;
    return {
      id,
      ttl,
      grantedTtl: smallInt(res.grantedTTL),
      keys: (res.keys ?? []).map(decodeText),
    };
  }

  /** Keeps a lease alive in the background until stopped, the client closes or it is lost. */
  keepAlive(id: bigint, opts: Omit<LeaseKeeperOptions, "logger"> = {}): LeaseKeeper {
    this.#assertOpen(`lease keep-alive of ${id}`);
    const keeper: LeaseKeeper = new LeaseKeeper(
      this,
      id,
      { ...opts, ...(this.#logger ? { logger: this.#logger } : {}) },
      () => this.#children.delete(child),
    );
    const child = { close: () => keeper.stop() };
    this.#children.add(child);
    return keeper;
  }

  /** Watches every key starting with `prefix`; see Watch for the delivery guarantees. */
  watch(prefix: string, opts: WatchOptions): Watch {
    this.#assertOpen(`watch ${quote(prefix)}`);
    return this.#watch(prefix, opts, false);
  }

  /**
   * Lists `prefix` (onSnapshot), then watches it from the next revision (onEvents); when etcd
   * compacted the revision to resume from, lists again and calls onSnapshot with the new state.
   */
  listAndWatch(prefix: string, handlers: ListWatchHandlers): Watch {
    this.#assertOpen(`watch ${quote(prefix)}`);
    return this.#watch(prefix, {
      onEvents: handlers.onEvents,
      onReset: async () => {
        const { kvs, revision } = await this.getPrefix(prefix);
        await handlers.onSnapshot(kvs, revision);
        return revision + 1n;
      },
      ...(handlers.signal ? { signal: handlers.signal } : {}),
    }, true);
  }

  /** Stops watches and lease keepers and aborts calls in flight. */
  async close(): Promise<void> {
    const closing = [...this.#children].map((c) => c.close());
    this.#transport.abort();
    await Promise.all(closing);
    this.#transport.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #watch(prefix: string, opts: WatchOptions, resetFirst: boolean): Watch {
    const watch: Watch = new Watch(prefix, opts, {
      transport: this.#transport,
      timeoutMs: this.#timeoutMs,
      ...(this.#logger ? { logger: this.#logger } : {}),
      resetFirst,
      onStop: () => this.#children.delete(watch),
    });
    this.#children.add(watch);
    return watch;
  }

  #assertOpen(what: string): void {
    if (this.#transport.closed) {
      throw new EtcdError(`etcd ${what}: client is closed`, { unavailable: false });
    }
  }

  #call(what: string, path: string, body: unknown, opts: CallOptions = {}): Promise<unknown> {
    return this.#transport.call(what, path, body, { retry: "always", ...opts });
  }

  async #range(what: string, body: Record<string, string>, opts: CallOptions) {
    const res = await this.#call(what, "/v3/kv/range", body, opts) as WireHeader & {
      kvs?: WireKeyValue[];
    };
    return { kvs: (res.kvs ?? []).map(toKeyValue), revision: int64(res.header?.revision) };
  }

  async #deleteRange(what: string, body: Record<string, string>): Promise<DeleteResult> {
    const res = await this.#call(what, "/v3/kv/deleterange", body) as WireHeader & {
      deleted?: string;
    };
    return { deleted: smallInt(res.deleted), revision: int64(res.header?.revision) };
  }
}
