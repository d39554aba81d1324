// Request body caps of the admin API (unix socket and TCP listener alike). A body over its cap is
// refused with a JSON 413 before a handler reads it: Content-Length is checked up front, a chunked
// body is counted while it streams and never buffered past the cap.
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { CniErrorCode } from "../cni/errors.ts";
import { CNI_AGENT_PATH, CNI_MAX_REQUEST_BYTES } from "../cni/protocol.ts";
import { errorBody } from "./errors.ts";

/**
 * Every route but /v1/cni. Manifests are the big bodies: 4 MiB holds thousands of Services or
 * policies, and etcd refuses a single value over 1.5 MiB by default anyway.
 */
export const API_MAX_BODY_BYTES = 4 * 1024 * 1024;

/** Caps every request's body: CNI_MAX_REQUEST_BYTES on the CNI endpoint, API_MAX_BODY_BYTES elsewhere. */
export function bodyLimits(): MiddlewareHandler {
  const api = bodyLimit({ maxSize: API_MAX_BODY_BYTES, onError: tooLarge(API_MAX_BODY_BYTES) });
  const cni = bodyLimit({ maxSize: CNI_MAX_REQUEST_BYTES, onError: cniTooLarge });
  return (c, next) => (c.req.path === CNI_AGENT_PATH ? cni : api)(c, next);
}

function message(limit: number): string {
  return `Request body is larger than the limit of ${limit} bytes (${limit / 1024 / 1024} MiB)`;
}

function tooLarge(limit: number) {
  return (c: Context) =>
    c.json(errorBody("too_large", `${message(limit)}: split it into smaller requests`), 413);
}

/** The CNI plugin prints the `cni` error of any non-200 answer (core/cni/protocol.ts). */
function cniTooLarge(c: Context) {
  const msg = `${message(CNI_MAX_REQUEST_BYTES)}: the network configuration is too large`;
  return c.json({
    ...errorBody("too_large", msg),
    cni: { code: CniErrorCode.InvalidNetworkConfig, msg },
  }, 413);
}
