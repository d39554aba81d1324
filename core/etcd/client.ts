// An etcd v3 client over the gRPC-JSON gateway (fetch, no gRPC library): key-value, txn,
// leases, watches and member status, over TLS with client certificates and etcd's user/password
// auth when configured. See _transport.ts for failover and retries, watch.ts for resumable
// watches and lease_keeper.ts for background keep-alives. Prefix reads come in pages of one
// revision. Keys and values are UTF-8 strings; revisions, versions and lease IDs are bigint.
import {
  base64ToBytes,
  bytesToBase64,
  decodeText,
  encodeText,
  int64,
  prefixRange,
  smallInt,
  toKeyValue,
  type WireKeyValue,
} from "./_codec.ts";
import { DEFAULT_MAX_MESSAGE_BYTES } from "./_json_stream.ts";
import { Transport } from "./_transport.ts";
import { EtcdError, GrpcCode } from "./errors.ts";
import { LeaseKeeper, type LeaseKeeperOptions } from "./lease_keeper.ts";
import { decodeTxn, encodeTxn, type TxnRequest, type TxnResult, txnWrites } from "./txn.ts";
import type {
  DeleteResult,
  EtcdAuth,
  EtcdLogger,
  EtcdTls,
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
  /** TLS (https endpoints): the CA and, for --client-cert-auth, a client certificate. */
  tls?: EtcdTls;
  /** etcd user and password (a token is fetched and renewed as needed). */
  auth?: EtcdAuth;
  /** How long a watch stream may stay without a sign of life (default 10000 ms). */
  watchLivenessMs?: number;
  /** The largest answer or stream message read (default 16 MiB). */
  maxMessageBytes?: number;
  /** Keys per page of a prefix read (default 1000; halved while a page is too large). */
  pageSize?: number;
}

export interface CallOptions {
  timeoutMs?: number;
}

interface WireHeader {
  header?: { revision?: string };
}

/** Times a paged read starts over when its revision was compacted under it. */
const LIST_RESTARTS = 3;

const quote = (s: string) => JSON.stringify(s);

export class EtcdClient implements AsyncDisposable {
  readonly #transport: Transport;
  readonly #timeoutMs: number;
  readonly #livenessMs: number;
  readonly #maxMessageBytes: number;
  readonly #pageSize: number;
  readonly #logger: EtcdLogger | undefined;
  readonly #children = new Set<{ close(): Promise<void> }>();

  constructor(opts: EtcdClientOptions) {
    this.#timeoutMs = opts.timeoutMs ?? 5_000;
    this.#livenessMs = opts.watchLivenessMs ?? 10_000;
    this.#maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#pageSize = opts.pageSize ?? 1000;
    this.#logger = opts.logger;
    this.#transport = new Transport(opts.endpoints, this.#timeoutMs, {
      ...(opts.logger ? { logger: opts.logger } : {}),
      ...(opts.tls ? { tls: opts.tls } : {}),
      ...(opts.auth ? { auth: opts.auth } : {}),
      maxMessageBytes: this.#maxMessageBytes,
    });
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

  /**
   * Every key starting with `prefix` ("" for all), sorted by key, at one revision: read in pages
   * (`pageSize` keys, each page from the key after the last one, at the first page's revision).
   * A page over the message limit is asked again with half the keys; a revision compacted
   * between pages starts the listing over. `timeoutMs` is per page.
   */
  async getPrefix(prefix: string, opts: CallOptions = {}): Promise<RangeResult> {
    const what = `get prefix ${quote(prefix)}`;
    const range = prefixRange(prefix);
    let limit = this.#pageSize;
    let restarts = 0;
    let kvs: KeyValue[] = [];
    let from = range.key;
    let revision: bigint | undefined;
    for (;;) {
      let page: { kvs: KeyValue[]; revision: bigint; more: boolean; lastKey: string | undefined };
      try {
        page = await this.#range(what, {
          ...range,
          key: from,
          limit: String(limit),
          ...(revision === undefined ? {} : { revision: revision.toString() }),
        }, opts);
      } catch (err) {
        if (err instanceof EtcdError && err.tooLarge && limit > 1) {
          limit = Math.ceil(limit / 2);
          continue;
        }
        const compacted = err instanceof EtcdError && err.code === GrpcCode.outOfRange;
        if (compacted && revision !== undefined && restarts++ < LIST_RESTARTS) {
          [kvs, from, revision] = [[], range.key, undefined];
          continue;
        }
        throw err;
      }
      revision ??= page.revision;
      kvs.push(...page.kvs);
      if (!page.more || page.lastKey === undefined) return { kvs, revision };
      from = keyAfter(page.lastKey);
    }
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
      livenessMs: this.#livenessMs,
      maxMessageBytes: this.#maxMessageBytes,
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
      more?: boolean;
    };
    const wire = res.kvs ?? [];
    return {
      kvs: wire.map(toKeyValue),
      revision: int64(res.header?.revision),
      more: res.more ?? false,
      lastKey: wire.at(-1)?.key,
    };
  }

  async #deleteRange(what: string, body: Record<string, string>): Promise<DeleteResult> {
    const res = await this.#call(what, "/v3/kv/deleterange", body) as WireHeader & {
      deleted?: string;
    };
    return { deleted: smallInt(res.deleted), revision: int64(res.header?.revision) };
  }
}

/** The smallest key after `b64` (the gateway's base64 bytes): the key with a zero byte added. */
function keyAfter(b64: string): string {
  const key = base64ToBytes(b64);
  const next = new Uint8Array(key.length + 1);
  next.set(key);
  return bytesToBase64(next);
}
