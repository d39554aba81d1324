// @ts-check
/// <reference lib="dom" />
// Talks to the agent's flow API: the last N flows, then every new one from the follow stream
// (NDJSON, one `{"flow": ...}` or `{"lost_events": ...}` per line) until aborted. The follow
// request starts before the `last` query so nothing falls between them (the page's list drops the
// overlap). A rejected filter (4xx) stops with the API's message; a broken connection retries
// with backoff and reloads the last N.

/** @typedef {import("./model.js").Flow} Flow */

/**
 * @typedef {object} FlowHandlers
 * @property {(flows: Flow[]) => void} onFlows
 * @property {(lost: number) => void} onLost
 * @property {(state: "loading" | "live" | "retrying", detail?: string) => void} onState
 * @property {(message: string, field?: string) => void} onRejected the API refused the filters
 */

/** An error answer of the API, kept apart from network errors (which are retried). */
class ApiRejected extends Error {
  /** @param {string} message @param {number} status @param {string} [field] */
  constructor(message, status, field) {
    super(message);
    this.status = status;
    this.field = field;
  }
}

/**
 * Loads and follows flows until `signal` aborts or the API rejects the filters.
 * @param {URL} endpoint the flows URL (…/v1/flows)
 * @param {[string, string][]} params filters
 * @param {number} last how many past flows to load first
 * @param {AbortSignal} signal
 * @param {FlowHandlers} on
 * @param {Record<string, string>} [headers] e.g. the API token
 */
export async function followFlows(endpoint, params, last, signal, on, headers = {}) {
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      on.onState("loading");
      await loadAndFollow(endpoint, params, last, signal, on, headers, () => (attempt = 0));
      if (signal.aborted) return;
      on.onState("retrying", "the agent closed the stream");
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof ApiRejected && err.status < 500) {
        on.onRejected(err.message, err.field);
        return;
      }
      on.onState("retrying", err instanceof Error ? err.message : String(err));
    }
    await sleep(Math.min(10_000, 1000 * 2 ** Math.min(attempt, 4)), signal);
  }
}

/**
 * @param {URL} endpoint
 * @param {[string, string][]} params
 * @param {number} last
 * @param {AbortSignal} signal
 * @param {FlowHandlers} on
 * @param {Record<string, string>} headers
 * @param {() => void} connected
 */
async function loadAndFollow(endpoint, params, last, signal, on, headers, connected) {
  const followCtl = new AbortController();
  const stop = () => followCtl.abort();
  signal.addEventListener("abort", stop);
  try {
    const follow = fetch(withParams(endpoint, [...params, ["follow", "true"]]), {
      signal: followCtl.signal,
      headers: { ...headers, accept: "application/x-ndjson" },
    });
    follow.catch(() => {}); // awaited below; an early failure must not be "unhandled"
    const res = await fetch(withParams(endpoint, [...params, ["last", String(last)]]), {
      signal,
      headers: { ...headers, accept: "application/json" },
    });
    if (!res.ok) throw await rejection(res);
    const body = await res.json();
    on.onFlows(Array.isArray(body?.flows) ? body.flows : []);
    const stream = await follow;
    if (!stream.ok) throw await rejection(stream);
    if (!stream.body) throw new Error("the follow response has no body");
    on.onState("live");
    connected();
    for await (const msg of ndjson(stream.body)) {
      if (msg?.flow) on.onFlows([msg.flow]);
      else if (msg?.lost_events) on.onLost(Number(msg.lost_events.num_events_lost) || 0);
    }
  } finally {
    signal.removeEventListener("abort", stop);
    followCtl.abort();
  }
}

/** @param {URL} url @param {[string, string][]} params */
function withParams(url, params) {
  const u = new URL(url);
  for (const [k, v] of params) u.searchParams.append(k, v);
  return u;
}

/** The API's error body (`{"error": {"code", "message", "field"}}`) as an ApiRejected. */
async function rejection(/** @type {Response} */ res) {
  const text = await res.text();
  try {
    const e = JSON.parse(text).error;
    if (e?.message) return new ApiRejected(String(e.message), res.status, e.field);
  } catch {
    // not JSON: use the text
  }
  return new ApiRejected(text.trim() || `HTTP ${res.status} ${res.statusText}`, res.status);
}

/**
 * The JSON values of an NDJSON body, one per line.
 * @param {ReadableStream<Uint8Array>} body
 * @returns {AsyncGenerator<any>}
 */
async function* ndjson(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) yield JSON.parse(line);
      }
    }
    if (buf.trim()) yield JSON.parse(buf);
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** @param {number} ms @param {AbortSignal} signal */
function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve(undefined);
    }
  });
}
