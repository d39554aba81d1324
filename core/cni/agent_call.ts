// The real AgentCall: one POST over the agent's unix socket.
import {
  type AgentAnswer,
  AgentTimeoutError,
  AgentUnreachableError,
  CNI_AGENT_PATH,
  type CniRequest,
} from "./protocol.ts";

/**
 * Posts `request` to the agent on `socket`, bounded by `timeoutMs` from connect to the last byte
 * of the answer; see AgentCall for what resolves and what rejects.
 */
export async function agentCallOverSocket(
  socket: string,
  request: CniRequest,
  timeoutMs: number,
): Promise<AgentAnswer> {
  using client = Deno.createHttpClient({ proxy: { transport: "unix", path: socket } });
  const signal = AbortSignal.timeout(timeoutMs);
  let res: Response;
  let text: string;
  try {
    // "localhost": Deno resolves the host even over a unix socket; /etc/hosts answers it.
    res = await fetch(`http://localhost${CNI_AGENT_PATH}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(request),
      client,
      signal,
    });
    text = await res.text();
  } catch (err) {
    if (signal.aborted) throw new AgentTimeoutError(socket, timeoutMs);
    const cause = String((err as Error).cause ?? (err as Error).message);
    // Deno reports a failed connect() as "client error (Connect): <os error>".
    if (/\(Connect\)/.test(cause)) throw new AgentUnreachableError(socket, connectReason(cause));
    throw err;
  }
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: the plugin reports the text
  }
  return { status: res.status, body };
}

function connectReason(cause: string): string {
  if (/No such file|os error 2\b/i.test(cause)) return "no such socket";
  if (/refused|os error 111\b/i.test(cause)) return "connection refused";
  if (/denied|os error 13\b/i.test(cause)) return "permission denied (the plugin must run as root)";
  return cause.replace(/^.*\(Connect\):\s*/, "");
}
