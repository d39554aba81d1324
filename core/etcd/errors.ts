// The one error type of the etcd client. `unavailable` tells callers whether retrying later can
// help (no endpoint answered, or etcd had no leader); `code` is etcd's gRPC status code when an
// endpoint answered with an error (5 not found, 9 failed precondition, 11 compacted, 14
// unavailable).

export interface EtcdErrorInit {
  unavailable: boolean;
  code?: number;
  /** The endpoints tried, in order. */
  endpoints?: string[];
  cause?: unknown;
}

export class EtcdError extends Error {
  override name = "EtcdError";
  readonly unavailable: boolean;
  readonly code: number | undefined;
  readonly endpoints: readonly string[];

  constructor(message: string, init: EtcdErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.unavailable = init.unavailable;
    this.code = init.code;
    this.endpoints = init.endpoints ?? [];
  }
}

/** gRPC status codes etcd uses that callers may want to match. */
export const GrpcCode = {
  notFound: 5,
  failedPrecondition: 9,
  outOfRange: 11,
  unavailable: 14,
} as const;
