// Serving the admin API: a unix socket (mode 0600) always, a TCP listener only with a token.
import { dirname } from "node:path";
import type { Hono } from "hono";

export interface ServeOptions {
  socketPath: string;
  tcp?: { hostname: string; port: number; app: Hono };
}

export interface ApiServer {
  readonly socketPath: string;
  readonly tcpAddress?: string;
  close(): Promise<void>;
}

export async function serveApi(app: Hono, opts: ServeOptions): Promise<ApiServer> {
  await Deno.mkdir(dirname(opts.socketPath), { recursive: true, mode: 0o700 });
  try {
    await Deno.remove(opts.socketPath); // stale socket of a previous run
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const unix = Deno.serve({ path: opts.socketPath, transport: "unix", onListen() {} }, app.fetch);
  await Deno.chmod(opts.socketPath, 0o600);
  let tcp: Deno.HttpServer<Deno.NetAddr> | undefined;
  if (opts.tcp) {
    tcp = Deno.serve(
      { hostname: opts.tcp.hostname, port: opts.tcp.port, onListen() {} },
      opts.tcp.app.fetch,
    );
  }
  return {
    socketPath: opts.socketPath,
    ...(tcp ? { tcpAddress: `${tcp.addr.hostname}:${tcp.addr.port}` } : {}),
    async close() {
      await unix.shutdown();
      if (tcp) await tcp.shutdown();
      await Deno.remove(opts.socketPath).catch(() => {});
    },
  };
}
