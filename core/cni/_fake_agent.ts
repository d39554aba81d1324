// Test helper: a stand-in for the agent's /v1/cni endpoint on a temporary unix socket, to test
// the plugin's side of the protocol. The real agent has its own tests.
import { join } from "node:path";
import { CNI_AGENT_PATH, type CniRequest } from "./protocol.ts";

export interface FakeAgent extends AsyncDisposable {
  readonly socket: string;
  /** Every request body received, in order. */
  readonly requests: CniRequest[];
}

/** Serves `answer(request)` as JSON with its status; unknown paths get 404. */
export async function startFakeAgent(
  answer: (req: CniRequest) => { status: number; body: unknown },
): Promise<FakeAgent> {
  const dir = await Deno.makeTempDir({ prefix: "hypha-cni-agent-" });
  const socket = join(dir, "api.sock");
  const requests: CniRequest[] = [];
  const server = Deno.serve({ path: socket, transport: "unix", onListen() {} }, async (req) => {
    if (req.method !== "POST" || new URL(req.url).pathname !== CNI_AGENT_PATH) {
      return new Response("not found", { status: 404 });
    }
    const body = await req.json() as CniRequest;
    requests.push(body);
    const out = answer(body);
    return Response.json(out.body, { status: out.status });
  });
  return {
    socket,
    requests,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

export interface SilentAgent extends AsyncDisposable {
  readonly socket: string;
  /** Connections accepted so far. */
  readonly accepted: () => number;
}

/**
 * A unix socket server that accepts connections, reads what arrives and never answers (or, with
 * `headersOnly`, sends the status line and headers of a 100-byte body and then nothing): a stuck
 * agent. Plain sockets, not Deno.serve, which always answers.
 */
export async function startSilentAgent(opts: { headersOnly?: boolean } = {}): Promise<SilentAgent> {
  const dir = await Deno.makeTempDir({ prefix: "hypha-cni-silent-" });
  const socket = join(dir, "api.sock");
  const listener = Deno.listen({ transport: "unix", path: socket });
  const conns: Deno.Conn[] = [];
  const serving = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      if (opts.headersOnly) {
        const head =
          "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n";
        conn.write(new TextEncoder().encode(head)).catch(() => {});
      }
      // drain the request so the client is never blocked writing it
      conn.readable.pipeTo(new WritableStream()).catch(() => {});
    }
  })();
  return {
    socket,
    accepted: () => conns.length,
    async [Symbol.asyncDispose]() {
      listener.close();
      await serving.catch(() => {});
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // already closed by the client
        }
      }
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Rejects when `p` has not settled after `ms`: a missing deadline fails the test, not hangs it. */
export function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Still no outcome after ${ms} ms`)), ms);
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}
