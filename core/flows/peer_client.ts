// The cluster view's client side: ask every other node's peer listener (core/flows/peer_server.ts)
// for its flows with the same query, in parallel, and merge them by time. A node that does not
// answer, answers an error or answers garbage is reported in `nodes` and never fails the query.
import type { Flow } from "./flow.ts";
import { mergeFlows } from "./merge.ts";
import { type FlowQuery, flowQueryParams } from "./query.ts";

export interface PeerNode {
  name: string;
  /** Underlay addresses, the first is used (state table `nodes`). */
  addresses: readonly string[];
}

export interface PeerClientOptions {
  /** The peers' listener port (observability.peer.listen; the same on every node). */
  port: number;
  /** The shared bearer token (observability.peer.tokenFile). */
  token?: string;
  /** Per node (default 5000). */
  timeoutMs?: number;
  /** Largest answer read from one node (default 64 MiB). */
  maxBytes?: number;
  signal?: AbortSignal;
}

export interface NodeAnswer {
  name: string;
  ok: boolean;
  error?: string;
  /** Flows this node returned. */
  flows: number;
}

export interface ClusterFlows {
  flows: Flow[];
  nodes: NodeAnswer[];
}

/** One node's flows for a query (`follow`/`cluster` are never sent). */
export async function fetchPeerFlows(
  node: PeerNode,
  q: FlowQuery,
  opts: PeerClientOptions,
): Promise<{ ok: true; flows: Flow[] } | { ok: false; error: string }> {
  const address = node.addresses[0];
  if (!address) return { ok: false, error: "the node has no address" };
  const host = address.includes(":") ? `[${address}]` : address;
  const qs = flowQueryParams(q).toString();
  const url = `http://${host}:${opts.port}/v1/flows${qs ? `?${qs}` : ""}`;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const signals = [AbortSignal.timeout(timeoutMs), ...(opts.signal ? [opts.signal] : [])];
  const signal = AbortSignal.any(signals);
  let res: Response;
  try {
    res = await fetch(url, {
      headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
      signal,
    });
  } catch (err) {
    return { ok: false, error: reason(err, url, timeoutMs, signal) };
  }
  let text: string;
  try {
    text = await readBounded(res, opts.maxBytes ?? 64 * 1024 * 1024);
  } catch (err) {
    return { ok: false, error: reason(err, url, timeoutMs, signal) };
  }
  if (!res.ok) {
    let message = text.slice(0, 200);
    try {
      message = JSON.parse(text).error.message ?? message;
    } catch {
      // not JSON
    }
    const hint = res.status === 401
      ? " (is observability.peer.tokenFile the same token on every node?)"
      : "";
    return { ok: false, error: `${url}: HTTP ${res.status}: ${message}${hint}` };
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, error: `${url}: the answer is not JSON` };
  }
  const flows = (body as { flows?: unknown })?.flows;
  if (!Array.isArray(flows) || !flows.every(isFlowLike)) {
    return { ok: false, error: `${url}: the answer has no list of flows` };
  }
  return { ok: true, flows: flows as Flow[] };
}

/**
 * The cluster view: this node's flows (`local`) and every other node's, merged by time with the
 * query's `last`/`first` applied to the whole.
 */
export async function queryCluster(
  local: { name: string; flows: Flow[] },
  peers: readonly PeerNode[],
  q: FlowQuery,
  opts: PeerClientOptions,
): Promise<ClusterFlows> {
  const others = peers.filter((p) => p.name !== local.name);
  const answers = await Promise.all(others.map((p) => fetchPeerFlows(p, q, opts)));
  const nodes: NodeAnswer[] = [{ name: local.name, ok: true, flows: local.flows.length }];
  const lists: Flow[][] = [local.flows];
  others.forEach((p, i) => {
    const a = answers[i]!;
    if (a.ok) {
      lists.push(a.flows);
      nodes.push({ name: p.name, ok: true, flows: a.flows.length });
    } else {
      nodes.push({ name: p.name, ok: false, error: a.error, flows: 0 });
    }
  });
  return {
    flows: mergeFlows(lists, {
      ...(q.last !== undefined ? { last: q.last } : {}),
      ...(q.first !== undefined ? { first: q.first } : {}),
    }),
    nodes,
  };
}

function isFlowLike(f: unknown): boolean {
  if (f === null || typeof f !== "object") return false;
  const o = f as Record<string, unknown>;
  return typeof o.time === "string" && typeof o.verdict === "string" &&
    typeof o.source === "object" && typeof o.destination === "object";
}

async function readBounded(res: Response, max: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let total = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel();
      throw new Error(`the answer is larger than ${max} bytes`);
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}

function reason(err: unknown, url: string, timeoutMs: number, signal: AbortSignal): string {
  if (signal.aborted) {
    const r = signal.reason;
    if (r instanceof DOMException && r.name === "TimeoutError") {
      return `${url}: no answer within ${timeoutMs} ms`;
    }
    return `${url}: cancelled`;
  }
  const e = err as Error;
  const cause = String((e.cause as Error | undefined)?.message ?? e.cause ?? e.message);
  return `${url}: ${
    /refused/i.test(cause) ? "connection refused (is the peer listener on?)" : cause
  }`;
}
