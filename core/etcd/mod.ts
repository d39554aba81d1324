// core/etcd: an etcd v3 client over the gRPC-JSON gateway (fetch only, no gRPC library), with
// TLS and etcd auth, endpoint failover, transactions, leases kept alive in the background, paged
// prefix reads and watches that notice a dead stream and resume where they left off.
export { type CallOptions, EtcdClient, type EtcdClientOptions } from "./client.ts";
export {
  type EtcdCredentialFiles,
  type EtcdCredentials,
  loadEtcdCredentials,
} from "./credentials.ts";
export { EtcdError, type EtcdErrorInit, GrpcCode } from "./errors.ts";
export { type KeepAliveApi, LeaseKeeper, type LeaseKeeperOptions } from "./lease_keeper.ts";
export {
  compare,
  type CompareOp,
  op,
  type TxnCompare,
  type TxnOp,
  type TxnOpResult,
  type TxnRequest,
  type TxnResult,
} from "./txn.ts";
export type {
  DeleteResult,
  EtcdAuth,
  EtcdLogger,
  EtcdTls,
  KeyValue,
  LeaseInfo,
  MemberStatus,
  PutResult,
  RangeResult,
  WatchEvent,
} from "./types.ts";
export { type ListWatchHandlers, Watch, type WatchOptions } from "./watch.ts";
