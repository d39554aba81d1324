// The cluster view's client side: ask every other node's peer listener (core/flows/peer_server.ts)
// for its flows with the same query, in parallel, and merge them by time. A node that does not
// answer, answers an error or answers garbage is reported in `nodes` and never fails the query.
// With an mTLS HttpClient (observability.peer.tls) peers are asked over https with this node's
// certificate; without one over plain http, and only peers on loopback unless `insecure`.
// Bounded: each answer by bytes (`maxBytes`) and flows (`maxFlows`), the merged view by
// `maxFlows`.
import { isLoopbackHost } from "../config/host_port.ts";
import type { Flow } from "./flow.ts";
import { mergeFlows } from "./merge.ts";
import { cutToLimit, type FlowQuery, flowQueryParams, limitQuery } from "./query.ts";

export interface PeerNode {
  name: string;
  /** Underlay addresses, the first is used (state table `nodes`). */
  addresses: readonly string[];
}

export interface PeerClientOptions {
  /** The peers' listener port (observability.peer.listen; the same on every node). */
  port: number;
  /** https, through `client` made with core/tls mutualTlsClientOptions (this node's certificate,
   * the cluster CA); otherwise plain http. */
  tls?: boolean;
  /** The HttpClient requests go through (required with `tls`; default: fetch's own). */
  client?: Deno.HttpClient;
  /** Plain http also to peers that are not on loopback (observability.peer.insecure). */
  insecure?: boolean;
  /** Why peers cannot be asked at all (e.g. the TLS files failed to load); each node says so. */
  unavailable?: string;
  /** The most flows taken from one node and given in the merged view (observability.peer
   * .maxFlows). */
  maxFlows: number;
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
  /** The node had more matching flows than its answer holds. */
  truncated?: boolean;
}

export interface ClusterFlows {
  flows: Flow[];
  nodes: NodeAnswer[];
  /** Flows were left out: a node's answer or the merged view hit maxFlows. */
  truncated: boolean;
}

export type PeerFlows =
  | { ok: true; flows: Flow[]; truncated: boolean }
  | { ok: false; error: string };

/** One node's flows for a query (`follow`/`cluster` are never sent). */
export async function fetchPeerFlows(
  node: PeerNode,
  q: FlowQuery,
  opts: PeerClientOptions,
): Promise<PeerFlows> {
  if (opts.unavailable) return { ok: false, error: opts.unavailable };
  const address = node.addresses[0];
  if (!address) return { ok: false, error: "the node has no address" };
  if (!opts.tls && !opts.insecure && !isLoopbackHost(address)) {
    return {
      ok: false,
      error: `not asked over plain http (${address} is not loopback): set ` +
        "observability.peer.tls (or observability.peer.insecure: true)",
    };
  }
  const host = address.includes(":") ? `[${address}]` : address;
  const qs = flowQueryParams(limitQuery(q, opts.maxFlows)).toString();
  const url = `${opts.tls ? "https" : "http"}://${host}:${opts.port}/v1/flows${qs ? `?${qs}` : ""}`;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const signals = [AbortSignal.timeout(timeoutMs), ...(opts.signal ? [opts.signal] : [])];
  const signal = AbortSignal.any(signals);
  let res: Response;
  try {
    res = await fetch(url, { ...(opts.client ? { client: opts.client } : {}), signal });
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
    return { ok: false, error: `${url}: HTTP ${res.status}: ${message}` };
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
  // a peer that sends more than asked is cut here, like one that says it left flows out
  const cut = cutToLimit(q, flows as Flow[], opts.maxFlows);
  return {
    ok: true,
    flows: cut.flows,
    truncated: cut.truncated || (body as { truncated?: unknown }).truncated === true,
  };
}

/**
 * The cluster view: this node's flows (`local`, the answer to limitQuery(q, maxFlows)) and every
 * other node's, merged by time with the query's `last`/`first` applied to the whole, and at most
 * `maxFlows` of them (the most recent unless the query asks for the first). Every node gives
 * its own most recent (or first) `maxFlows`, so the merged ones are the cluster's.
 */
export async function queryCluster(
  local: { name: string; flows: Flow[] },
  peers: readonly PeerNode[],
  q: FlowQuery,
  opts: PeerClientOptions,
): Promise<ClusterFlows> {
  const others = peers.filter((p) => p.name !== local.name);
  const answers = await Promise.all(others.map((p) => fetchPeerFlows(p, q, opts)));
  const own = cutToLimit(q, local.flows, opts.maxFlows);
  const nodes: NodeAnswer[] = [{
    name: local.name,
    ok: true,
    flows: own.flows.length,
    ...(own.truncated ? { truncated: true } : {}),
  }];
  const lists: Flow[][] = [own.flows];
  others.forEach((p, i) => {
    const a = answers[i]!;
    if (a.ok) {
      lists.push(a.flows);
      nodes.push({
        name: p.name,
        ok: true,
        flows: a.flows.length,
        ...(a.truncated ? { truncated: true } : {}),
      });
    } else {
      nodes.push({ name: p.name, ok: false, error: a.error, flows: 0 });
    }
  });
  const merged = cutToLimit(q, mergeFlows(lists, limitQuery(q, opts.maxFlows)), opts.maxFlows);
  return {
    flows: merged.flows,
    nodes,
    truncated: merged.truncated || nodes.some((n) => n.truncated),
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
      throw new Error(
        `the answer is larger than ${max} bytes (lower observability.peer.maxFlows, or ask ` +
          "for fewer with --last)",
      );
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
  return `${url}: ${cause}${hint(cause)}`;
}

/** What to check for the usual failures of asking a peer. */
function hint(cause: string): string {
  if (/refused/i.test(cause)) return " (is the peer listener on? see GET /v1/flows/stats there)";
  if (/UnknownIssuer|BadSignature|unknown ca|certificate verify/i.test(cause)) {
    return " (is the peer's certificate from the CA in observability.peer.tls.ca?)";
  }
  if (/NotValidForName|not valid for/i.test(cause)) {
    return " (the peer's certificate must name its node address as an IP SAN)";
  }
  if (
    /CertificateRequired|certificate required|bad certificate|revoked|reset|closed/i.test(cause)
  ) {
    return " (did the peer refuse this node's certificate? is it from the peer's CA, not revoked?)";
  }
  if (/https|tls|handshake|http\/1|invalid HTTP/i.test(cause)) {
    return " (do both nodes agree on observability.peer.tls?)";
  }
  return "";
}
