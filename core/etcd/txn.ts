// Transactions: compares and operations, and their gateway JSON. A txn applies `success` when
// every compare holds and `failure` otherwise, atomically at one revision.
//
//   client.txn({
//     compare: [compare.createRevision(key, "=", 0n)], // the key does not exist
//     success: [op.put(key, value)],
//     failure: [op.get(key)],
//   })
import { encodeText, int64, prefixRange, toKeyValue, type WireKeyValue } from "./_codec.ts";
import type { KeyValue } from "./types.ts";

export type CompareOp = "=" | "!=" | "<" | ">";

export type TxnCompare =
  | { target: "createRevision" | "modRevision" | "version"; key: string; op: CompareOp; n: bigint }
  | { target: "value"; key: string; op: CompareOp; value: string };

/** Compares; a missing key has createRevision, modRevision and version 0n. */
export const compare = {
  createRevision: (key: string, op: CompareOp, revision: bigint): TxnCompare => ({
    target: "createRevision",
    key,
    op,
    n: revision,
  }),
  modRevision: (key: string, op: CompareOp, revision: bigint): TxnCompare => ({
    target: "modRevision",
    key,
    op,
    n: revision,
  }),
  version: (key: string, op: CompareOp, version: bigint): TxnCompare => ({
    target: "version",
    key,
    op,
    n: version,
  }),
  value: (key: string, op: CompareOp, value: string): TxnCompare => ({
    target: "value",
    key,
    op,
    value,
  }),
};

export type TxnOp =
  | { type: "put"; key: string; value: string; lease?: bigint }
  | { type: "delete"; key: string; prefix: boolean }
  | { type: "get"; key: string; prefix: boolean };

export const op = {
  put: (key: string, value: string, opts: { lease?: bigint } = {}): TxnOp => ({
    type: "put",
    key,
    value,
    ...(opts.lease === undefined ? {} : { lease: opts.lease }),
  }),
  /** Deletes `key`, or every key under it with `prefix`. */
  delete: (key: string, opts: { prefix?: boolean } = {}): TxnOp => ({
    type: "delete",
    key,
    prefix: opts.prefix ?? false,
  }),
  /** Reads `key`, or every key under it with `prefix`. */
  get: (key: string, opts: { prefix?: boolean } = {}): TxnOp => ({
    type: "get",
    key,
    prefix: opts.prefix ?? false,
  }),
};

export interface TxnRequest {
  compare?: TxnCompare[];
  success?: TxnOp[];
  failure?: TxnOp[];
}

/** One result per op of the branch that ran, in order. */
export type TxnOpResult =
  | { type: "put"; revision: bigint }
  | { type: "delete"; deleted: number; revision: bigint }
  | { type: "get"; kvs: KeyValue[]; revision: bigint };

export interface TxnResult {
  succeeded: boolean;
  revision: bigint;
  responses: TxnOpResult[];
}

/** A txn that may write cannot be sent twice blindly: the first may have been applied. */
export function txnWrites(req: TxnRequest): boolean {
  return [...req.success ?? [], ...req.failure ?? []].some((o) => o.type !== "get");
}

const RESULT = { "=": "EQUAL", "!=": "NOT_EQUAL", "<": "LESS", ">": "GREATER" } as const;
const TARGET = {
  createRevision: ["CREATE", "create_revision"],
  modRevision: ["MOD", "mod_revision"],
  version: ["VERSION", "version"],
  value: ["VALUE", "value"],
} as const;

function encodeCompare(c: TxnCompare): Record<string, string> {
  const [target, field] = TARGET[c.target];
  const value = c.target === "value" ? encodeText(c.value) : c.n.toString();
  return { target, key: encodeText(c.key), result: RESULT[c.op], [field]: value };
}

function encodeOp(o: TxnOp): Record<string, unknown> {
  const range = (prefix: boolean) => prefix ? prefixRange(o.key) : { key: encodeText(o.key) };
  switch (o.type) {
    case "put":
      return {
        request_put: {
          key: encodeText(o.key),
          value: encodeText(o.value),
          ...(o.lease ? { lease: o.lease.toString() } : {}),
        },
      };
    case "delete":
      return { request_delete_range: range(o.prefix) };
    case "get":
      return { request_range: range(o.prefix) };
  }
}

export function encodeTxn(req: TxnRequest): unknown {
  return {
    compare: (req.compare ?? []).map(encodeCompare),
    success: (req.success ?? []).map(encodeOp),
    failure: (req.failure ?? []).map(encodeOp),
  };
}

interface WireOpResponse {
  response_put?: { header?: { revision?: string } };
  response_delete_range?: { header?: { revision?: string }; deleted?: string };
  response_range?: { header?: { revision?: string }; kvs?: WireKeyValue[] };
}

export function decodeTxn(json: unknown): TxnResult {
  const w = json as {
    header?: { revision?: string };
    succeeded?: boolean;
    responses?: WireOpResponse[];
  };
  const revision = int64(w.header?.revision);
  const responses = (w.responses ?? []).map((r): TxnOpResult => {
    if (r.response_range) {
      return {
        type: "get",
        kvs: (r.response_range.kvs ?? []).map(toKeyValue),
        revision: int64(r.response_range.header?.revision) || revision,
      };
    }
    if (r.response_delete_range) {
      return {
        type: "delete",
        deleted: Number(r.response_delete_range.deleted ?? 0),
        revision: int64(r.response_delete_range.header?.revision) || revision,
      };
    }
    return { type: "put", revision: int64(r.response_put?.header?.revision) || revision };
  });
  return { succeeded: w.succeeded ?? false, revision, responses };
}
