// How a failed gateway call is read: which failures are worth another endpoint, and which may
// have been applied by etcd although the call failed (so a write must not be sent again).
import { GrpcCode } from "./errors.ts";

export interface Failure {
  cause: string;
  /** Worth trying another endpoint: the endpoint, not the request, is the problem. */
  retryable: boolean;
  /** etcd may have applied the request although the call failed. */
  maybeApplied: boolean;
  code?: number;
  tooLarge?: boolean;
}

/** Errors etcd returns before proposing a request, so the request was not applied. */
const REJECTED_UP_FRONT =
  /no leader|too many requests|not capable|invalid auth token|auth store is old/;

/** etcd's gateway refuses client certificates with a common name once auth is on. */
const CN_REFUSED = /CommonName of client sending a request against gateway will be ignored/;

/**
 * An error answer of the gateway: `{"error": "...", "message": "...", "code": <gRPC code>}` for
 * unary calls, `{"error": {"grpc_code": 14, "message": "...", ...}}` for streams.
 */
export function gatewayFailure(status: number, text: string): Failure {
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
  if (CN_REFUSED.test(message)) {
    message += ": with etcd auth on, the client certificate (store.etcd.tls.cert) must have no " +
      "common name (hypha certs issue --no-cn)";
  }
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

export function isConnectError(err: unknown): boolean {
  return /\(Connect\)|tcp connect error|connection refused/i.test(errorText(err));
}
