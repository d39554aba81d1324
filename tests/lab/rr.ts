// The rr request/response tool (tests/tools/rr/, built by scripts/build_tools.ts) run inside
// network namespaces: a server in the background, and bounded client runs whose JSON output is
// returned typed. The protocol, modes and time bounds are documented in tests/tools/rr/main.c.
import { join } from "node:path";
import { nsArgv } from "./cgroup.ts";
import { inNs } from "./netns.ts";

export const RR_BIN = join(import.meta.dirname!, "../tools/build/rr");

export interface RrServeOptions {
  /** 0 picks a free port; the chosen one is `RrServer.port`. */
  port: number;
  /** Answer to `rrName()`; defaults to the hostname. */
  name?: string;
  /** Also serve UDP on the same port. */
  udp?: boolean;
  /** Listen on SCTP instead of TCP (same protocol, one-to-one associations). */
  sctp?: boolean;
  /** Listen address; defaults to "::" (IPv4 and IPv6). */
  bind?: string;
  /** How long to wait for the server to listen (default 5000). */
  timeoutMs?: number;
}

export interface RrServerStats {
  connections: number;
  transactions: number;
  datagrams: number;
}

export interface RrServer extends AsyncDisposable {
  readonly ns: string;
  readonly port: number;
  readonly pid: number;
  /**
   * SIGTERM (SIGKILL after 5 s), then waits for the exit. Returns the server's counters, or
   * undefined if it did not exit cleanly. Safe to call twice.
   */
  stop(): Promise<RrServerStats | undefined>;
}

export type RrMode = "rr" | "crr" | "probe";

export interface RrClientOptions {
  host: string;
  port: number;
  mode: RrMode;
  /** Seconds; default 10, or 300 when only `count` is given. */
  durationS?: number;
  /** Total transactions (rr), connections (crr) or attempts (probe). */
  count?: number;
  /** Parallel connections (rr) or connect loops (crr); probe uses one. Default 1. */
  streams?: number;
  /** probe: one attempt every `intervalMs` (default 100). */
  intervalMs?: number;
  /** Bound on one transaction (rr) or one attempt including connect (crr, probe). Default 1000. */
  timeoutMs?: number;
  /** Bytes per request and per response (default 1 and 1). */
  requestSize?: number;
  responseSize?: number;
  udp?: boolean;
  /** Connect over SCTP instead of TCP (the server must run with `sctp`). */
  sctp?: boolean;
  /** crr: close with FIN instead of RST (limits crr to ~470 connections/s, see client.c). */
  gracefulClose?: boolean;
  /** The client's own address. */
  bind?: string;
  /**
   * Ends the run early when aborted (rr stops as if its duration were over and reports what
   * ran): traffic that lasts exactly as long as a test's scenario, however long that takes.
   * Give a generous `durationS` as the upper bound.
   */
  stop?: AbortSignal;
}

export type RrFailureKind =
  | "refused"
  | "timeout"
  | "reset"
  | "short_read"
  | "unreachable"
  | "other";

/** Microseconds. rr: one transaction; crr and probe: connect until the response arrived. */
export interface RrLatency {
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface RrResult {
  mode: RrMode;
  proto: "tcp" | "udp" | "sctp";
  host: string;
  port: number;
  streams: number;
  requestSize: number;
  responseSize: number;
  timeoutMs: number;
  intervalMs: number;
  /** From the start to the end of the last stream. */
  durationS: number;
  /** ok + failed. */
  attempts: number;
  /** Transactions (rr), connections (crr) or probes (probe) that got their whole response. */
  ok: number;
  failed: number;
  /** Connections opened (rr reconnects after a failure). */
  connects: number;
  /** ok / durationS. */
  ratePerS: number;
  /** null when nothing succeeded. */
  latencyUs: RrLatency | null;
  failures: Record<RrFailureKind, number>;
  /** The earliest (at most 10), `tMs` after the start. */
  firstFailures: Array<{ tMs: number; kind: RrFailureKind; error: string }>;
  maxConsecutiveFailures: number;
  /** The client's watchdog ended the run; `stuckStreams` did not report. */
  watchdog: boolean;
  stuckStreams: number;
}

async function assertBuilt(): Promise<void> {
  try {
    await Deno.stat(RR_BIN);
  } catch {
    throw new Error(
      `rr binary not found at "${RR_BIN}": build it with \`deno run -A scripts/build_tools.ts\``,
    );
  }
}

/** Starts `rr serve` inside `ns` and waits until it listens. */
export async function rrServe(ns: string, opts: RrServeOptions): Promise<RrServer> {
  await assertBuilt();
  const serve = [RR_BIN, "serve", "--port", String(opts.port)];
  if (opts.name !== undefined) serve.push("--name", opts.name);
  if (opts.bind !== undefined) serve.push("--bind", opts.bind);
  if (opts.udp) serve.push("--udp");
  if (opts.sctp) serve.push("--sctp");
  // `ip netns exec` (and the cgroup join) exec rr, so the child's pid is the server's.
  const [bin, ...args] = nsArgv(ns, serve);
  const child = new Deno.Command(bin!, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const firstLine = async (): Promise<string | undefined> => {
    for (;;) {
      const nl = buffered.indexOf("\n");
      if (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        return line;
      }
      const { value, done } = await reader.read();
      if (done) return undefined;
      buffered += value;
    }
  };
  const timeoutMs = opts.timeoutMs ?? 5_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const line = await Promise.race([
    firstLine(),
    new Promise<null>((r) => timer = setTimeout(() => r(null), timeoutMs)),
  ]);
  clearTimeout(timer);
  let listening: { event?: string; port: number } | undefined;
  try {
    listening = line ? JSON.parse(line) : undefined;
  } catch {
    // not the line we wait for
  }
  if (listening?.event !== "listening") {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await reader.cancel();
    const { code } = await child.status;
    const why = line === null
      ? `not listening after ${timeoutMs} ms`
      : line === undefined
      ? `exited with code ${code}`
      : `unexpected output ${JSON.stringify(line)}`;
    throw new Error(`rr serve in ${ns} on port ${opts.port}: ${why}: ${(await stderr).trim()}`);
  }
  // Keep draining stdout so the server never blocks on it; the last line holds its counters.
  const rest = (async () => {
    let out = buffered;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return out;
      out += value;
    }
  })();
  let stopped: Promise<RrServerStats | undefined> | undefined;
  const stop = async (): Promise<RrServerStats | undefined> => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    const escalate = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, 5_000);
    const { code } = await child.status;
    clearTimeout(escalate);
    const [out] = await Promise.all([rest, stderr]);
    const last = out.trim().split("\n").at(-1);
    if (code !== 0 || !last) return undefined;
    const { event, connections, transactions, datagrams } = JSON.parse(last);
    return event === "stopped" ? { connections, transactions, datagrams } : undefined;
  };
  return {
    ns,
    port: listening.port,
    pid: child.pid,
    stop: () => stopped ??= stop(),
    async [Symbol.asyncDispose]() {
      await (stopped ??= stop());
    },
  };
}

function clientArgs(opts: RrClientOptions, durationS: number): string[] {
  const args = ["--host", opts.host, "--port", String(opts.port), "--mode", opts.mode];
  args.push("--duration", String(durationS));
  if (opts.count !== undefined) args.push("--count", String(opts.count));
  if (opts.streams !== undefined) args.push("--streams", String(opts.streams));
  if (opts.intervalMs !== undefined) args.push("--interval-ms", String(opts.intervalMs));
  if (opts.timeoutMs !== undefined) args.push("--timeout-ms", String(opts.timeoutMs));
  if (opts.requestSize !== undefined || opts.responseSize !== undefined) {
    args.push("--size", `${opts.requestSize ?? 1}/${opts.responseSize ?? 1}`);
  }
  if (opts.udp) args.push("--udp");
  if (opts.sctp) args.push("--sctp");
  if (opts.gracefulClose) args.push("--graceful-close");
  if (opts.bind) args.push("--bind", opts.bind);
  return args;
}

/** `rr client ARGS` in `ns`, killed after `timeoutMs`; SIGTERM (an early end) when `stop` aborts. */
async function runClient(ns: string, args: string[], timeoutMs: number, stop?: AbortSignal) {
  const [bin, ...argv] = nsArgv(ns, [RR_BIN, "client", ...args]);
  const child = new Deno.Command(bin!, {
    args: argv,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).spawn();
  // `ip netns exec` (and the cgroup join) exec rr: the child's pid is rr's
  const end = () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // it has exited
    }
  };
  if (stop?.aborted) end();
  stop?.addEventListener("abort", end, { once: true });
  try {
    const out = await child.output();
    const text = new TextDecoder();
    return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
  } finally {
    stop?.removeEventListener("abort", end);
  }
}

/** Runs `rr client` inside `ns`; ends within duration + timeout + 10 s whatever the network does. */
export async function rrClient(ns: string, opts: RrClientOptions): Promise<RrResult> {
  await assertBuilt();
  const durationS = opts.durationS ?? (opts.count !== undefined ? 300 : 10);
  const r = await runClient(
    ns,
    clientArgs(opts, durationS),
    (durationS + (opts.timeoutMs ?? 1_000) / 1_000 + 10) * 1_000,
    opts.stop,
  );
  let j;
  try {
    j = JSON.parse(r.stdout);
  } catch {
    throw new Error(
      `rr client ${opts.mode} to ${opts.host} port ${opts.port} in ${ns} failed (exit ${r.code}): ${
        r.stderr.trim() || r.stdout.trim()
      }`,
    );
  }
  return {
    mode: j.mode,
    proto: j.proto,
    host: j.host,
    port: j.port,
    streams: j.streams,
    requestSize: j.request_size,
    responseSize: j.response_size,
    timeoutMs: j.timeout_ms,
    intervalMs: j.interval_ms,
    durationS: j.duration_s,
    attempts: j.attempts,
    ok: j.ok,
    failed: j.failed,
    connects: j.connects,
    ratePerS: j.rate_per_s,
    latencyUs: j.latency_us,
    failures: j.failures,
    firstFailures: (j.first_failures as Array<{ t_ms: number; kind: RrFailureKind; error: string }>)
      .map((f) => ({ tMs: f.t_ms, kind: f.kind, error: f.error })),
    maxConsecutiveFailures: j.max_consecutive_failures,
    watchdog: j.watchdog,
    stuckStreams: j.stuck_streams,
  };
}

export interface RrQueryOptions {
  udp?: boolean;
  sctp?: boolean;
  /** Default 2000. */
  timeoutMs?: number;
  /** The client's own address (e.g. one of several in its namespace). */
  bind?: string;
  /** A fixed client port (the connection closes with a reset, so it can be reused at once). */
  localPort?: number;
}

async function query(
  ns: string,
  mode: "name" | "whoami",
  host: string,
  port: number,
  opts: RrQueryOptions,
): Promise<Record<string, unknown>> {
  await assertBuilt();
  const timeoutMs = opts.timeoutMs ?? 2_000;
  const args = ["--host", host, "--port", String(port), "--mode", mode];
  args.push("--timeout-ms", String(timeoutMs));
  if (opts.udp) args.push("--udp");
  if (opts.sctp) args.push("--sctp");
  if (opts.bind) args.push("--bind", opts.bind);
  if (opts.localPort) args.push("--local-port", String(opts.localPort));
  const r = await inNs(ns, [RR_BIN, "client", ...args], {
    allowFail: true,
    timeoutMs: timeoutMs + 10_000,
  });
  let j;
  try {
    j = JSON.parse(r.stdout);
  } catch {
    j = { ok: false, kind: "other", error: r.stderr.trim() || `exit ${r.code}` };
  }
  if (!j.ok) {
    throw new Error(`rr ${mode} of ${host} port ${port} from ${ns}: ${j.kind}: ${j.error}`);
  }
  return j;
}

/** The `--name` of the server that answered (e.g. which backend a service address chose). */
export async function rrName(
  ns: string,
  host: string,
  port: number,
  opts: RrQueryOptions = {},
): Promise<string> {
  return (await query(ns, "name", host, port, opts)).name as string;
}

/** The client's address and port as the server saw them (after any NAT on the way). */
export async function rrWhoami(
  ns: string,
  host: string,
  port: number,
  opts: RrQueryOptions = {},
): Promise<{ address: string; port: number }> {
  const j = await query(ns, "whoami", host, port, opts);
  return { address: j.client_address as string, port: j.client_port as number };
}

/**
 * Why SCTP cannot run in `ns`, in the kernel's words (creating an SCTP socket there failed with
 * "Protocol not supported": no CONFIG_IP_SCTP, or the sctp module cannot load), or undefined
 * when it can. Any other failure of the attempt is thrown, never taken for "no SCTP".
 */
export async function sctpUnsupported(ns: string): Promise<string | undefined> {
  try {
    const server = await rrServe(ns, { port: 0, sctp: true });
    await server.stop();
    return undefined;
  } catch (err) {
    const m = /listening on SCTP .*: (Protocol not supported)$/m.exec((err as Error).message);
    if (!m) throw err;
    return `this kernel has no SCTP: an SCTP socket in ${ns} failed with "${m[1]}" ` +
      `(CONFIG_IP_SCTP is not set, or the sctp module cannot load)`;
  }
}
