// The peer listener other nodes' cluster view reads (observability.peer): serves ONLY
// `GET /v1/flows` (stored flows, no follow, no cluster fan-out of its own). Read-only by
// construction: nothing else is routed.
//
// Who may read: with TLS material (observability.peer.tls) the listener is mutual TLS — only a
// client with a certificate of the cluster CA that the CA has not revoked gets past the handshake
// (core/tls serveMutualTls). Without it, plain HTTP, which the observer allows only on loopback or
// when told to (observability.peer.insecure). Answers are bounded: at most `maxFlows` flows,
// the most recent unless the query asks for the first, with `truncated` saying flows were left
// out.
import type { Flow } from "./flow.ts";
import { FlowFilterError } from "./filter.ts";
import { cutToLimit, type FlowQuery, limitQuery, parseFlowQuery } from "./query.ts";
import { errorBody, type ErrorCode } from "../api/errors.ts";
import { parseHostPort } from "../config/host_port.ts";
import { serveMutualTls, type TlsMaterial } from "../tls/mod.ts";

export interface PeerHandlerOptions {
  /** This node's matching stored flows. */
  query: (q: FlowQuery) => Flow[];
  nodeName: string;
  /** The most flows one answer holds (observability.peer.maxFlows). */
  maxFlows: number;
}

/** What a peer answers to GET /v1/flows. */
export interface PeerAnswer {
  flows: Flow[];
  node: string;
  /** More flows matched than the answer holds (the peer's maxFlows). */
  truncated: boolean;
  maxFlows: number;
}

export interface PeerServer {
  /** host:port actually bound (port 0 picks one). */
  readonly address: string;
  readonly port: number;
  /** Mutual TLS (false: plain HTTP). */
  readonly tls: boolean;
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
    const { flows, truncated } = cutToLimit(
      q,
      opts.query(limitQuery(q, opts.maxFlows)),
      opts.maxFlows,
    );
    const answer: PeerAnswer = { flows, node: opts.nodeName, truncated, maxFlows: opts.maxFlows };
    return Response.json(answer);
  };
}

/**
 * Listens on `listen` ("host:port", "[v6]:port"): mutual TLS with `tls`, plain HTTP without.
 * Throws an error naming the address.
 */
export async function servePeer(
  listen: string,
  opts: PeerHandlerOptions & { tls?: TlsMaterial },
): Promise<PeerServer> {
  const at = parseHostPort(listen);
  if (!at) throw new Error(`Flow peer listener: "${listen}" is not host:port`);
  const { hostname, port } = at;
  const handler = peerHandler(opts);
  const cannot = (err: unknown) =>
    new Error(
      `Cannot listen for flow peers on ${listen} (observability.peer.listen): ` +
        (err as Error).message,
    );
  if (opts.tls) {
    try {
      const server = await serveMutualTls({ hostname, port, tls: opts.tls, handler });
      return { address: server.address, port: server.port, tls: true, close: () => server.close() };
    } catch (err) {
      throw cannot(err);
    }
  }
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({ hostname, port, onListen() {} }, handler);
  } catch (err) {
    throw cannot(err);
  }
  const addr = server.addr;
  return {
    address: `${addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname}:${addr.port}`,
    port: addr.port,
    tls: false,
    close: () => server.shutdown(),
  };
}

function error(status: number, code: ErrorCode, message: string, field?: string): Response {
  return Response.json(errorBody(code, message, field), { status });
}
