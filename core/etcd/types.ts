// The data shapes the etcd client hands out. Keys and values are UTF-8 strings. Revisions,
// versions and lease IDs are bigint (etcd int64s: lease IDs exceed 2^53); TTLs (seconds) and
// counts of keys are number.

export interface KeyValue {
  key: string;
  value: string;
  /** Revision of the put that created the key (0n never appears: absent keys are not listed). */
  createRevision: bigint;
  /** Revision of the last change to the key. */
  modRevision: bigint;
  /** Number of puts since the key was created (1n after the first). */
  version: bigint;
  /** Lease the key is attached to; 0n when none. */
  lease: bigint;
}

export interface RangeResult {
  kvs: KeyValue[];
  /** The store revision the range was read at. */
  revision: bigint;
}

export interface PutResult {
  revision: bigint;
}

export interface DeleteResult {
  deleted: number;
  revision: bigint;
}

export interface WatchEvent {
  type: "put" | "delete";
  key: string;
  /** The new value; "" for deletes. */
  value: string;
  /** The value before this event, when the watch asked for it and the key existed. */
  prevValue?: string;
  modRevision: bigint;
}

export interface LeaseInfo {
  id: bigint;
  /** Seconds left. */
  ttl: number;
  /** Seconds the lease was granted (or last kept alive) for. */
  grantedTtl: number;
  /** Keys attached to the lease, when asked for. */
  keys: string[];
}

export interface MemberStatus {
  endpoint: string;
  version: string;
  memberId: bigint;
  leader: bigint;
  revision: bigint;
  raftTerm: bigint;
  raftIndex: bigint;
  dbSize: number;
}

/** The subset of core/log's Logger the client uses. */
export interface EtcdLogger {
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** TLS to etcd: the CA that signed the members' certificates and, when etcd asks for client
 * certificates (--client-cert-auth), this client's certificate and key (PEM). */
export interface EtcdTls {
  caPem: string;
  certPem?: string;
  keyPem?: string;
}

/** etcd user/password auth (etcd's RBAC). */
export interface EtcdAuth {
  username: string;
  password: string;
}
