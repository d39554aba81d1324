// `hypha observe`: flows from the agent's store, filtered and printed like `hubble observe`.
// Filter flags are the API's query parameters (core/flows/query.ts); they are checked here first
// so a typo is a usage error before anything is sent. `--follow` streams until Ctrl-C.
import type { ApiClient } from "../api/client.ts";
import type { FlagSpec, Parsed } from "./args.ts";
import { one, UsageError } from "./args.ts";
import { renderTable } from "./table.ts";
import type { Io } from "./main.ts";
import type { Flow } from "../flows/flow.ts";
import { type FlowEvent, isLostEvents } from "../flows/events.ts";
import { FlowFilterError } from "../flows/filter.ts";
import {
  compactLine,
  type FormatOptions,
  jsonLine,
  lostLine,
  OUTPUT_FORMATS,
  type OutputFormat,
  TABLE_HEADER,
  tableRow,
} from "../flows/format.ts";
import type { NodeAnswer } from "../flows/peer_client.ts";
import { FILTER_FLAG_NAMES, parseFlowQuery } from "../flows/query.ts";

/** `hubble observe` prints the last 20 flows when nothing else selects them. */
export const DEFAULT_LAST = 20;

/** The flags `observe` adds to the CLI's spec (every filter repeatable, also as `--not-X`). */
export const OBSERVE_FLAGS: FlagSpec["values"] = Object.fromEntries([
  ...FILTER_FLAG_NAMES.flatMap((f) => [[f, { repeat: true }], [`not-${f}`, { repeat: true }]]),
  ["since", {}],
  ["until", {}],
  ["last", {}],
  ["first", {}],
]);
export const OBSERVE_BOOLEANS = ["follow", "cluster"];

export const OBSERVE_HELP =
  `  observe                    flows, like hubble observe (-o compact|table|json, default compact):
    --from-pod/--to-pod/--pod [NS/]POD-PREFIX   (a bare name is in namespace default)
    --from-namespace/--to-namespace/--namespace NS
    --from-label/--to-label/--label SELECTOR    (k=v, k!=v, k, !k, k in (a,b); app=web
                                                matches k8s:app=web)
    --from-ip/--to-ip/--ip IP|CIDR   --from-port/--to-port/--port N
    --verdict V   --type trace|drop|policy-verdict|l7|sock   --protocol tcp|udp|icmp|...
    --node-name NAME   --traffic-direction ingress|egress
                               repeated flags OR, different flags AND; --not --FLAG V (or
                               --not-FLAG V) leaves matching flows out
    --since/--until 5m|2026-12-05T10:00:00Z   --last N (default 20)   --first N
    -f, --follow               print flows as they come, until Ctrl-C
    --cluster                  ask every node and merge by time
`;

/**
 * Hubble's spellings the generic parser does not know: `-f` for `--follow`, and `--not --FLAG V`
 * for `--not-FLAG V`. Only rewrites the `observe` command's arguments.
 */
export function rewriteObserveArgs(args: string[]): string[] {
  if (!args.includes("observe")) return args;
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-f") out.push("--follow");
    else if (a === "--not") {
      const next = args[i + 1];
      if (next === undefined || !next.startsWith("--") || next.startsWith("--not")) {
        throw new UsageError(
          '"--not" must be followed by a filter flag, e.g. --not --verdict FORWARDED',
        );
      }
      out.push(`--not-${next.slice(2)}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** The query parameters of the flags; throws UsageError naming a bad flag. */
export function observeParams(p: Parsed): URLSearchParams {
  const params = new URLSearchParams();
  for (const name of Object.keys(OBSERVE_FLAGS)) {
    for (const v of p.values.get(name) ?? []) params.append(name, v);
  }
  for (const b of OBSERVE_BOOLEANS) if (p.booleans.has(b)) params.set(b, "true");
  const selects = ["last", "first", "since", "until"].some((n) => params.has(n));
  if (!p.booleans.has("follow") && !selects) params.set("last", String(DEFAULT_LAST));
  try {
    parseFlowQuery(params);
  } catch (err) {
    if (err instanceof FlowFilterError) throw new UsageError(err.message);
    throw err;
  }
  return params;
}

export interface ObserveOptions extends FormatOptions {
  /** Ends `--follow` (default: Ctrl-C). */
  signal?: AbortSignal;
}

export async function observe(
  p: Parsed,
  client: ApiClient,
  io: Io,
  opts: ObserveOptions = {},
): Promise<number> {
  const output = (one(p, "output") ?? "compact") as OutputFormat;
  if (!OUTPUT_FORMATS.includes(output)) {
    throw new UsageError(`output "${output}" must be one of ${OUTPUT_FORMATS.join(", ")}`);
  }
  const params = observeParams(p);
  const cluster = p.booleans.has("cluster");
  const fmt: FormatOptions = { ...opts, ...(cluster ? { nodeName: true } : {}) };
  if (!p.booleans.has("follow")) {
    const r = await client.json<{
      flows: Flow[];
      nodes?: NodeAnswer[];
      truncated?: boolean;
      stats?: { maxFlows?: number };
    }>("GET", `/v1/flows?${params}`);
    for (const n of r.nodes ?? []) {
      if (!n.ok) io.err(`hypha: node ${n.name}: no flows: ${n.error}`);
    }
    if (r.truncated) {
      io.err(
        `hypha: more flows matched than the cluster view gives (at most ${
          r.stats?.maxFlows ?? "?"
        }, observability.peer.maxFlows): these are the ${
          p.values.has("first") ? "first" : "most recent"
        }; narrow the query (filters, --since/--until) for the rest`,
      );
    }
    if (output === "table") {
      const header = cluster ? ["NODE", ...TABLE_HEADER] : TABLE_HEADER;
      const rows = r.flows.map((
        f,
      ) => (cluster ? [f.node_name, ...tableRow(f, fmt)] : tableRow(f, fmt)));
      if (rows.length) io.out(renderTable(header, rows));
    } else {
      for (const f of r.flows) io.out(output === "json" ? jsonLine(f) : compactLine(f, fmt));
    }
    return 0;
  }
  const res = await client.request("GET", `/v1/flows?${params}`);
  await streamLines(res, opts.signal, (line) => {
    let e: FlowEvent;
    try {
      e = JSON.parse(line) as FlowEvent;
    } catch {
      io.err(`hypha: the agent sent a line that is not JSON: ${line.slice(0, 80)}`);
      return;
    }
    if (output === "json") io.out(line);
    else if (isLostEvents(e)) io.err(lostLine(e, fmt));
    else if (output === "table") io.out(fixedRow(tableRow(e.flow, fmt)));
    else io.out(compactLine(e.flow, fmt));
  }, () => {
    if (output === "table") io.out(fixedRow(TABLE_HEADER));
  });
  return 0;
}

/** A streamed table has no widths to measure: fixed ones, as wide as typical values. */
const WIDTHS = [19, 36, 36, 16, 10];
function fixedRow(cells: string[]): string {
  return cells.map((c, i) => (i < WIDTHS.length ? c.padEnd(WIDTHS[i]!) : c)).join("  ");
}

/** Calls `onLine` for each line of an NDJSON body until it ends, `signal` aborts or Ctrl-C. */
async function streamLines(
  res: Response,
  signal: AbortSignal | undefined,
  onLine: (line: string) => void,
  onStart: () => void,
): Promise<void> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const stop = () => void reader.cancel().catch(() => {});
  let removeSigint = () => {};
  if (signal) {
    if (signal.aborted) stop();
    signal.addEventListener("abort", stop, { once: true });
  } else {
    Deno.addSignalListener("SIGINT", stop);
    removeSigint = () => Deno.removeSignalListener("SIGINT", stop);
  }
  onStart();
  let buffered = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim()) onLine(line);
      }
    }
  } catch (err) {
    if (!(signal?.aborted)) throw err;
  } finally {
    signal?.removeEventListener("abort", stop);
    removeSigint();
  }
}
