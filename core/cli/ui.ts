// `hypha ui`: the agent's web UI in a browser. The agent serves it on its unix socket (no
// authentication, so never on the network): this opens a read-only proxy on loopback in front
// of the socket, prints the URL and runs until Ctrl-C (like `cilium hubble ui`).
import type { Target } from "../api/client.ts";
import { serveUiProxy } from "../ui/proxy.ts";
import { UsageError } from "./args.ts";
import type { Io } from "./main.ts";
import { parseHostPort } from "../config/host_port.ts";

export const UI_HELP =
  `  ui [--listen HOST:PORT]     the web UI (service map, flows) through a read-only proxy on
                             loopback (default 127.0.0.1:12000), until Ctrl-C
`;

export async function ui(
  target: Target,
  listen: string | undefined,
  io: Io,
  signal?: AbortSignal,
): Promise<number> {
  if (!("socket" in target) || !target.socket) {
    throw new UsageError(
      "ui needs the agent's socket (--node or --socket); through --server, open " +
        "<server>/ui/#token=<token> in the browser instead",
    );
  }
  const at = parseHostPort(listen ?? "127.0.0.1:12000");
  if (!at) {
    throw new UsageError(
      `--listen "${listen}" must be HOST:PORT on loopback, e.g. 127.0.0.1:12000`,
    );
  }
  let proxy;
  try {
    proxy = serveUiProxy({ socket: target.socket, ...at });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  io.out(`hypha UI: ${proxy.url}  (Ctrl-C to stop)`);
  const stopped = Promise.withResolvers<void>();
  const stop = () => stopped.resolve();
  signal?.addEventListener("abort", stop, { once: true });
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  try {
    await stopped.promise;
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGTERM", stop);
    await proxy.close();
  }
  return 0;
}
