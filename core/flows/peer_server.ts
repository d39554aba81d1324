// The peer listener other nodes' cluster view reads (observability.peer): plain HTTP on TCP that
// serves ONLY `GET /v1/flows` (stored flows, no follow, no cluster fan-out of its own), optionally
// behind a shared bearer token. Read-only by construction: nothing else is routed.
import type { Flow } from "./flow.ts";
import { FlowFilterError } from "./filter.ts";
import { type FlowQuery, parseFlowQuery } from "./query.ts";
import { errorBody, type ErrorCode } from "../api/errors.ts";
import { bearerMatches, readTokenFile, TokenFileError } from "../api/token.ts";
import { parseHostPort } from "../config/host_port.ts";

export interface PeerHandlerOptions {
  /** This node's matching stored flows. */
  query: (q: FlowQuery) => Flow[];
  nodeName: string;
  /** Required as `Authorization: Bearer <token>` when set. */
  token?: string;
}

export interface PeerServer {
  /** host:port actually bound (port 0 picks one). */
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/** The request handler (testable without a socket). */
export function peerHandler(opts: PeerHandlerOptions): (req: Request) => Response {
  return (req) => {
    const url = new URL(req.url);
    if (url.pathname !== "/v1/flows") {
      return error(
        404,
        "not_found",
        `No route ${req.method} ${url.pathname} (peers serve GET /v1/flows only)`,
      );
    }
    if (req.method !== "GET") return error(405, "invalid", "Only GET is allowed");
    if (opts.token !== undefined && !bearerMatches(req.headers.get("authorization"), opts.token)) {
      return error(401, "unauthorized", "Missing or wrong bearer token");
    }
    let q: FlowQuery;
    try {
      q = parseFlowQuery(url.searchParams);
    } catch (err) {
      if (err instanceof FlowFilterError) return error(400, "invalid", err.message, err.field);
      throw err;
    }
    if (q.follow || q.cluster) {
      return error(400, "invalid", "Peers serve stored flows only (no follow, no cluster)");
    }
    return Response.json({ flows: opts.query(q), node: opts.nodeName });
  };
}

/** Listens on `listen` ("host:port", "[v6]:port"); throws an error naming the address. */
export function servePeer(listen: string, opts: PeerHandlerOptions): PeerServer {
  const at = parseHostPort(listen);
  if (!at) throw new Error(`Flow peer listener: "${listen}" is not host:port`);
  const { hostname, port } = at;
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({ hostname, port, onListen() {} }, peerHandler(opts));
  } catch (err) {
    throw new Error(
      `Cannot listen for flow peers on ${listen} (observability.peer.listen): ` +
        (err as Error).message,
    );
  }
  const addr = server.addr;
  return {
    address: `${addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname}:${addr.port}`,
    port: addr.port,
    close: () => server.shutdown(),
  };
}

/** The shared token from observability.peer.tokenFile ("" = none). */
export async function readPeerToken(tokenFile: string): Promise<string | undefined> {
  if (!tokenFile) return undefined;
  try {
    return await readTokenFile(tokenFile);
  } catch (err) {
    if (!(err instanceof TokenFileError)) throw err;
    throw new Error(
      err.unreadable
        ? `Cannot read observability.peer.tokenFile "${tokenFile}": ${err.reason}`
        : `observability.peer.tokenFile "${tokenFile}": ${err.reason}`,
    );
  }
}

function error(status: number, code: ErrorCode, message: string, field?: string): Response {
  return Response.json(errorBody(code, message, field), { status });
}
