// The CNI plugin's logic: validate the invocation, forward it to the node agent, print the
// spec's result or error. The agent does the real work; this side never touches the kernel.
import { CniError, CniErrorCode, cniErrorJson, toCniError } from "./errors.ts";
import { type CniEnv, parseEnv } from "./env.ts";
import {
  DEFAULT_AGENT_TIMEOUT_SECONDS,
  DEFAULT_AGENT_WAIT_SECONDS,
  type NetConf,
  parseNetConf,
  peekCniVersion,
} from "./netconf.ts";
import { formatResult, parseHyphaResult } from "./result.ts";
import {
  type AgentAnswer,
  type AgentCall,
  AgentTimeoutError,
  AgentUnreachableError,
  type CniRequest,
} from "./protocol.ts";
import { LATEST_VERSION, versionResult } from "./version.ts";
import { DEFAULT_RUN_DIR, findAgentSocket } from "./agent_socket.ts";

export interface RunCniPluginOptions {
  env: Record<string, string | undefined>;
  stdin: string;
  call: AgentCall;
  /** Waits between attempts to reach the agent; tests inject a fast one. */
  sleep?: (ms: number) => Promise<void>;
  /** Where agents keep their sockets (`<runDir>/<node>/api.sock`); default "/run/hypha". */
  runDir?: string;
}

/** What the executable prints and returns. stderr carries notes for humans, never JSON. */
export interface CniPluginOutput {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** First retry after 50 ms, doubling up to 1 s, until `agentWaitSeconds` is used up. */
const FIRST_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 1000;

/** Runs one CNI invocation. Never throws: every failure becomes the spec's error result. */
export async function runCniPlugin(opts: RunCniPluginOptions): Promise<CniPluginOutput> {
  let version = peekCniVersion(opts.stdin) ?? LATEST_VERSION;
  try {
    const env = parseEnv(opts.env);
    if (env.command === "VERSION") return ok(json(versionResult(peekCniVersion(opts.stdin))));
    const conf = parseNetConf(opts.stdin, env.command);
    version = conf.cniVersion;
    return await forward(env, conf, opts);
  } catch (err) {
    return { stdout: json(cniErrorJson(version, toCniError(err))), stderr: "", exitCode: 1 };
  }
}

async function forward(
  env: CniEnv,
  conf: NetConf,
  opts: RunCniPluginOptions,
): Promise<CniPluginOutput> {
  const attachment = env.command === "ADD" || env.command === "DEL" || env.command === "CHECK";
  const request: CniRequest = {
    command: env.command as CniRequest["command"],
    containerId: attachment ? env.containerId : "",
    netns: attachment ? env.netns : "",
    ifname: attachment ? env.ifname : "",
    args: attachment ? env.args : {},
    config: conf,
  };
  const reached = await reachAgent(request, conf, opts);
  if ("unreachable" in reached) return unreachable(request, reached.unreachable);
  return answer(request, conf, reached.socket, reached.answer);
}

/** The agent's answer, or why no agent could be reached (lower case, for a message). */
type Reached = { socket: string; answer: AgentAnswer } | { unreachable: string };

/**
 * Calls the agent, retrying while nobody accepts the connection or the agent answers that it
 * is not ready for an ADD yet (503: a restarted agent waiting for the cluster store), up to
 * agentWaitSeconds; then the last answer (or why no agent was reached) stands. Each call has
 * agentTimeoutSeconds; an agent that took the request and did not answer in time is not
 * retried (it may still be working on it): the runtime gets a CNI error and retries itself.
 */
async function reachAgent(
  request: CniRequest,
  conf: NetConf,
  opts: RunCniPluginOptions,
): Promise<Reached> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const runDir = opts.runDir ?? DEFAULT_RUN_DIR;
  const waitSeconds = conf.agentWaitSeconds ?? DEFAULT_AGENT_WAIT_SECONDS;
  const timeoutMs = (conf.agentTimeoutSeconds ?? DEFAULT_AGENT_TIMEOUT_SECONDS) * 1000;
  let waited = 0;
  let backoff = FIRST_BACKOFF_MS;
  for (;;) {
    const socket = conf.agentSocket ?? await findAgentSocket(runDir);
    let reason = `no agent socket found: nothing matches "${runDir}/*/api.sock"`;
    let notReady: AgentAnswer | undefined;
    if (socket !== undefined) {
      try {
        const answer = await opts.call(socket, request, timeoutMs);
        if (answer.status !== 503 || request.command !== "ADD") return { socket, answer };
        notReady = answer;
      } catch (err) {
        if (err instanceof AgentTimeoutError) throw timedOut(request, socket, timeoutMs);
        if (!(err instanceof AgentUnreachableError)) {
          throw new CniError(
            CniErrorCode.IoFailure,
            `Failed to talk to the hypha agent at ${JSON.stringify(socket)}: ${
              (err as Error).message
            }`,
          );
        }
        reason = `agent not reachable at ${JSON.stringify(socket)}: ${err.reason}`;
      }
    }
    if (waited >= waitSeconds * 1000) {
      if (notReady) return { socket: socket!, answer: notReady };
      return { unreachable: `${reason} (waited ${waitSeconds}s)` };
    }
    const delay = Math.min(backoff, waitSeconds * 1000 - waited);
    await sleep(delay);
    waited += delay;
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  }
}

/**
 * An agent that took the request but did not answer in time: "try again later" (STATUS: not
 * available), DEL included, since the agent may still be tearing the pod down.
 */
function timedOut(request: CniRequest, socket: string, timeoutMs: number): CniError {
  return new CniError(
    request.command === "STATUS" ? CniErrorCode.PluginNotAvailable : CniErrorCode.TryAgainLater,
    `The hypha agent at ${JSON.stringify(socket)} did not answer ${request.command} within ` +
      `${timeoutMs / 1000} s`,
    `It accepted the connection but sent no answer in time: is it stuck? Raise ` +
      `"agentTimeoutSeconds" in the network configuration if it is only slow.`,
  );
}

/**
 * No agent: ADD/CHECK/GC ask the runtime to retry (11), STATUS reports "not available" (50).
 * DEL succeeds: the spec wants DEL to succeed when resources are gone, and the agent removes
 * endpoints whose veth or netns disappeared when it comes back.
 */
function unreachable(request: CniRequest, reason: string): CniPluginOutput {
  if (request.command === "DEL") {
    const note = `hypha-cni: DEL of container ${JSON.stringify(request.containerId)} ifname ` +
      `${JSON.stringify(request.ifname)} reported as done: ${reason}; the agent cleans up ` +
      `endpoints whose veth or netns are gone when it starts\n`;
    return { stdout: "", stderr: note, exitCode: 0 };
  }
  const err = new CniError(
    request.command === "STATUS" ? CniErrorCode.PluginNotAvailable : CniErrorCode.TryAgainLater,
    `${reason[0]!.toUpperCase()}${reason.slice(1)}`,
    `Is the hypha agent running on this node? Set "agentSocket" in the network configuration ` +
      `if its socket is elsewhere.`,
  );
  return { stdout: json(cniErrorJson(request.config.cniVersion, err)), stderr: "", exitCode: 1 };
}

function answer(
  request: CniRequest,
  conf: NetConf,
  socket: string,
  res: AgentAnswer,
): CniPluginOutput {
  const where = `The hypha agent at ${JSON.stringify(socket)}`;
  if (res.status === 200) {
    // The spec: only ADD prints a result; DEL, CHECK, GC and STATUS print nothing on success.
    if (request.command !== "ADD") return ok("");
    const result = (res.body as { result?: unknown } | null)?.result;
    if (result === undefined || result === null) {
      throw new CniError(CniErrorCode.DecodingFailure, `${where} returned no result for ADD`);
    }
    return ok(json(formatResult(conf.cniVersion, parseHyphaResult(result))));
  }
  const cni = (res.body as { cni?: { code?: unknown; msg?: unknown; details?: unknown } } | null)
    ?.cni;
  if (cni && Number.isInteger(cni.code) && typeof cni.msg === "string") {
    const details = typeof cni.details === "string" ? cni.details : undefined;
    const err = new CniError(cni.code as number, cni.msg, details);
    return { stdout: json(cniErrorJson(conf.cniVersion, err)), stderr: "", exitCode: 1 };
  }
  const message = (res.body as { error?: { message?: unknown } } | null)?.error?.message;
  const text = typeof message === "string"
    ? message
    : String(JSON.stringify(res.body)).slice(0, 200);
  throw new CniError(
    res.status === 503 ? CniErrorCode.TryAgainLater : CniErrorCode.DecodingFailure,
    `${where} answered HTTP ${res.status} without a CNI error: ${text}`,
  );
}

function ok(stdout: string): CniPluginOutput {
  return { stdout, stderr: "", exitCode: 0 };
}

function json(v: unknown): string {
  return `${JSON.stringify(v, null, 2)}\n`;
}
