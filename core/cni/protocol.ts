// The contract between the CNI plugin and the node agent: one request per CNI invocation,
// `POST http://hypha/v1/cni` on the agent's unix socket. Shared by both sides; pure types.
import type { CniCommand } from "./env.ts";
import type { NetConf } from "./netconf.ts";

export const CNI_AGENT_PATH = "/v1/cni";

/**
 * The agent refuses a larger request body (HTTP 413 with a CNI error, code 7). A request is the
 * network configuration plus a few names; the big parts are prevResult and GC's valid
 * attachments, about 100 bytes per pod, so 1 MiB holds thousands of pods.
 */
export const CNI_MAX_REQUEST_BYTES = 1024 * 1024;

/** The request body. For GC and STATUS, containerId/netns/ifname are empty and args is {}. */
export interface CniRequest {
  command: Exclude<CniCommand, "VERSION">;
  containerId: string;
  netns: string;
  ifname: string;
  /** CNI_ARGS as parsed by parseCniArgs(). */
  args: Record<string, string>;
  /** The validated network configuration, every field as the runtime sent it. */
  config: NetConf;
}

/**
 * HTTP 200 body. `result` is the ADD result (a HyphaResult, or a result in any supported
 * version's shape: the plugin converts it to the request's cniVersion); null for other commands.
 */
export interface CniSuccessBody {
  result: unknown;
}

/** Body of any non-200 answer: the API's error plus the CNI error the plugin prints. */
export interface CniErrorBody {
  error: { code: string; message: string; field?: string };
  cni: { code: number; msg: string; details?: string };
}

/** What the agent answered: any HTTP status, the body parsed as JSON (or the raw text). */
export interface AgentAnswer {
  status: number;
  body: unknown;
}

/**
 * Sends one request to the agent at `socket`. Resolves with whatever the agent answered; rejects
 * with AgentUnreachableError when no agent accepted the connection (the plugin retries those),
 * with AgentTimeoutError when no whole answer arrived within `timeoutMs` (not retried: the agent
 * may still be working on it), and with any other error when the exchange failed after
 * connecting (not retried).
 */
export type AgentCall = (
  socket: string,
  request: CniRequest,
  timeoutMs: number,
) => Promise<AgentAnswer>;

export class AgentUnreachableError extends Error {
  override name = "AgentUnreachableError";
  /** `reason` is short and lower case, e.g. "no such socket", "connection refused". */
  constructor(readonly socket: string, readonly reason: string) {
    super(`Agent not reachable at ${JSON.stringify(socket)}: ${reason}`);
  }
}

export class AgentTimeoutError extends Error {
  override name = "AgentTimeoutError";
  constructor(readonly socket: string, readonly timeoutMs: number) {
    super(`Agent at ${JSON.stringify(socket)} did not answer within ${timeoutMs / 1000} s`);
  }
}
