// The one error type of the etcd client. `unavailable` tells callers whether retrying later can
// help (no endpoint answered, or etcd had no leader); `code` is etcd's gRPC status code when an
// endpoint answered with an error (5 not found, 7 permission denied, 9 failed precondition, 11
// compacted, 14 unavailable, 16 unauthenticated). `tooLarge`: an answer passed the client's
// message limit (it was not read).

export interface EtcdErrorInit {
  unavailable: boolean;
  code?: number;
  /** The endpoints tried, in order. */
  endpoints?: string[];
  tooLarge?: boolean;
  cause?: unknown;
}

export class EtcdError extends Error {
  override name = "EtcdError";
  readonly unavailable: boolean;
  readonly code: number | undefined;
  readonly endpoints: readonly string[];
  readonly tooLarge: boolean;

  constructor(message: string, init: EtcdErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.unavailable = init.unavailable;
    this.code = init.code;
    this.endpoints = init.endpoints ?? [];
    this.tooLarge = init.tooLarge ?? false;
  }
}

/** gRPC status codes etcd uses that callers may want to match. */
export const GrpcCode = {
  invalidArgument: 3,
  notFound: 5,
  permissionDenied: 7,
  failedPrecondition: 9,
  outOfRange: 11,
  unavailable: 14,
  unauthenticated: 16,
} as const;
