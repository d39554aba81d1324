// An HTTPS listener that requires a client certificate from the cluster CA (mutual TLS) and
// serves a fetch-style handler. Deno.serve cannot ask for client certificates, node:https can:
// this adapts one to the other. A client without a certificate, with one from another CA, or
// with a revoked one is cut off during the handshake or before its request reaches the handler.
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import type { TlsMaterial } from "./material.ts";

/** Who is asking: the subject common name and serial of the client's certificate. */
export interface PeerIdentity {
  name: string;
  serial: string;
}

export interface MutualTlsServerOptions {
  hostname: string;
  port: number;
  tls: TlsMaterial;
  handler: (req: Request, peer: PeerIdentity) => Response | Promise<Response>;
  /** Largest request body accepted (413 above it); default 64 KiB. */
  maxBodyBytes?: number;
  /** A connection refused after the handshake (revoked certificate), for logs and tests. */
  onRefused?: (peer: PeerIdentity, reason: string) => void;
}

export interface MutualTlsServer {
  /** host:port actually bound. */
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function serveMutualTls(opts: MutualTlsServerOptions): Promise<MutualTlsServer> {
  const maxBody = opts.maxBodyBytes ?? 64 * 1024;
  const server = https.createServer({
    cert: opts.tls.certPem,
    key: opts.tls.keyPem,
    ca: opts.tls.caPem,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: "TLSv1.2",
  }, (req, res) => void respond(req, res));

  async function respond(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const socket = req.socket as TLSSocket;
    const cert = socket.getPeerCertificate?.();
    const peer: PeerIdentity = {
      name: String(cert?.subject?.CN ?? ""),
      serial: String(cert?.serialNumber ?? ""),
    };
    if (!socket.authorized || !peer.serial) {
      socket.destroy();
      return;
    }
    if (opts.tls.revocation?.isRevoked(peer.serial)) {
      opts.onRefused?.(peer, "certificate revoked");
      socket.destroy();
      return;
    }
    try {
      const request = await toRequest(req, maxBody);
      await writeResponse(res, request ? await opts.handler(request, peer) : tooLarge(maxBody));
    } catch (err) {
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: "internal", message: (err as Error).message } }));
      } else {
        res.destroy();
      }
    }
  }

  const { promise, resolve, reject } = Promise.withResolvers<void>();
  server.once("error", reject);
  server.listen(opts.port, opts.hostname, () => resolve());
  await promise;
  server.off("error", reject);
  server.on("tlsClientError", () => {}); // a refused handshake is the client's problem
  const addr = server.address() as { address: string; port: number };
  const host = addr.address.includes(":") ? `[${addr.address}]` : addr.address;
  return {
    address: `${host}:${addr.port}`,
    port: addr.port,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections?.();
      }),
  };
}

function tooLarge(max: number): Response {
  return Response.json(
    { error: { code: "too_large", message: `Request body is larger than ${max} bytes` } },
    { status: 413 },
  );
}

/** The request as a fetch Request; null when its body is over `max` bytes. */
async function toRequest(req: IncomingMessage, max: number): Promise<Request | null> {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
  }
  const url = `https://${req.headers.host ?? "peer"}${req.url ?? "/"}`;
  const method = req.method ?? "GET";
  if (method === "GET" || method === "HEAD") return new Request(url, { method, headers });
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Uint8Array).length;
    if (size > max) return null;
    chunks.push(chunk as Uint8Array);
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.length;
  }
  return new Request(url, { method, headers, body });
}

async function writeResponse(res: ServerResponse, response: Response): Promise<void> {
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (!response.body) {
    res.end();
    return;
  }
  for await (const chunk of response.body) {
    if (!res.write(chunk)) {
      await new Promise<void>((r) => res.once("drain", () => r()));
    }
  }
  res.end();
}
