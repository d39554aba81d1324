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
