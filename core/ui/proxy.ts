// A loopback HTTP listener in front of an agent's unix socket, so a browser can open the agent's
// UI (`hubble ui`-style port-forward; the lab's UI test uses it). Read-only: it forwards GET and
// HEAD only, and only for a loopback Host header, because the socket has no authentication and
// any web page the operator visits can send requests to 127.0.0.1 (cross-site requests and DNS
// rebinding). Responses stream through, so the NDJSON follow stream works; closing the proxy
// ends the open streams.
import { errorBody } from "../api/errors.ts";

export interface UiProxyOptions {
  /** The agent's API socket, e.g. /run/hypha/node1/api.sock. */
  socket: string;
  /** A loopback address (default 127.0.0.1). */
  hostname?: string;
  /** 0 (default) picks a free port. */
  port?: number;
}

export interface UiProxy extends AsyncDisposable {
  /** The UI's address, e.g. http://127.0.0.1:41234/ui/ */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;

export function serveUiProxy(opts: UiProxyOptions): UiProxy {
  const hostname = opts.hostname ?? "127.0.0.1";
  if (!LOOPBACK.test(hostname)) {
    throw new Error(
      `UI proxy address "${hostname}" is not loopback: the agent's socket has no authentication, ` +
        "so it is only exposed on 127.0.0.1 or ::1",
    );
  }
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path: opts.socket } });
  const open = new Set<AbortController>();
  const server = Deno.serve({ hostname, port: opts.port ?? 0, onListen: () => {} }, (req, info) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return Response.json(errorBody("invalid", `The UI proxy is read-only: ${req.method}`), {
        status: 405,
        headers: { allow: "GET, HEAD" },
      });
    }
    const host = (req.headers.get("host") ?? "").replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
    if (!LOOPBACK.test(host)) {
      return Response.json(errorBody("invalid", `Host "${host}" is not loopback`), {
        status: 421,
      });
    }
    const ctl = new AbortController();
    open.add(ctl);
    // Delivered or the client went away: end the upstream request too.
    info.completed.finally(() => {
      ctl.abort();
      open.delete(ctl);
    }).catch(() => {});
    return forward(req, ctl.signal);
  });
  const port = server.addr.port;

  async function forward(req: Request, signal: AbortSignal): Promise<Response> {
    const url = new URL(req.url);
    const headers = new Headers(req.headers);
    headers.delete("host");
    try {
      // The host name is not used over a unix socket (see core/api/client.ts).
      const res = await fetch(`http://localhost${url.pathname}${url.search}`, {
        method: req.method,
        headers,
        client,
        signal,
        redirect: "manual",
      });
      return new Response(res.body, {
        status: res.status,
        statusText: res.statusText,
        headers: res.headers,
      });
    } catch (err) {
      const cause = String((err as Error).cause ?? (err as Error).message);
      return Response.json(
        errorBody("unavailable", `Cannot reach the agent at ${opts.socket}: ${cause}`),
        { status: 502 },
      );
    }
  }

  const close = async () => {
    const done = server.shutdown();
    for (const ctl of open) ctl.abort(); // follow streams never end by themselves
    open.clear();
    await done;
    client.close();
  };
  return {
    url: `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}/ui/`,
    port,
    close,
    [Symbol.asyncDispose]: close,
  };
}
