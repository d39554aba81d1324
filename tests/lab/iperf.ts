// iperf3 between lab namespaces: a one-shot server and a bounded client with JSON results.
import { nsArgv } from "./cgroup.ts";
import { inNs } from "./netns.ts";

export interface IperfResult {
  /** Bits per second received, over the whole run. */
  bitsPerSecond: number;
  /** Bits per second of each reporting interval (1 s). */
  intervals: number[];
  retransmits: number;
  /** UDP: datagrams sent, and lost on the way (as the server counted). */
  packets?: number;
  lostPackets?: number;
  error?: string;
}

/** Starts `iperf3 -s -1` (one test, then exit) in `ns`; resolves once it listens. */
export async function iperfServe(ns: string, port = 5201): Promise<{ done: Promise<void> }> {
  const [bin, ...args] = nsArgv(ns, ["iperf3", "-s", "-1", "-p", String(port)]);
  const child = new Deno.Command(bin!, {
    args,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const done = child.output().then(() => {});
  for (let i = 0; i < 50; i++) {
    const r = await inNs(ns, ["ss", "-ltnH", `sport = :${port}`], { allowFail: true });
    if (r.stdout.trim()) return { done };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  await done;
  throw new Error(`iperf3 server in ${ns} did not listen on ${port}`);
}

/** iperf3's error when SIGINT ended a client run: what `stop` asks for, not a failure. */
const INTERRUPTED = "interrupt - the client has terminated";

/**
 * `iperf3 -c` for `seconds` with `streams` parallel streams; bounded by seconds + 20 s. With
 * `udp`, datagrams of `length` bytes at `bitsPerSecond` (a packet rate: bits / 8 / length).
 * When `stop` aborts, the run ends early (SIGINT): the result has the whole intervals so far
 * (the partial last one is dropped) and no error; `bitsPerSecond` is then 0 (iperf3 reports no
 * totals for an interrupted run).
 */
export async function iperfClient(
  ns: string,
  host: string,
  opts: {
    seconds: number;
    streams?: number;
    port?: number;
    udp?: { bitsPerSecond: number; length: number };
    stop?: AbortSignal;
  },
): Promise<IperfResult> {
  const [bin, ...args] = nsArgv(ns, [
    "iperf3",
    "-c",
    host,
    "-p",
    String(opts.port ?? 5201),
    "-t",
    String(opts.seconds),
    "-P",
    String(opts.streams ?? 1),
    ...(opts.udp
      ? ["-u", "-b", String(Math.round(opts.udp.bitsPerSecond)), "-l", String(opts.udp.length)]
      : []),
    "-J",
  ]);
  // `ip netns exec` (and the cgroup join) exec iperf3: the child's pid is iperf3's
  const child = new Deno.Command(bin!, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout((opts.seconds + 20) * 1000),
  }).spawn();
  const interrupt = () => {
    try {
      child.kill("SIGINT");
    } catch {
      // it has exited
    }
  };
  if (opts.stop?.aborted) interrupt();
  opts.stop?.addEventListener("abort", interrupt, { once: true });
  const out = await child.output().finally(() =>
    opts.stop?.removeEventListener("abort", interrupt)
  );
  const text = new TextDecoder();
  const r = { stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
  let j: {
    error?: string;
    end?: {
      sum_received?: { bits_per_second: number };
      sum_sent?: { retransmits?: number };
      sum?: { bits_per_second: number; packets?: number; lost_packets?: number };
    };
    intervals?: Array<{ sum: { bits_per_second: number } }>;
  };
  try {
    j = JSON.parse(r.stdout);
  } catch {
    return { bitsPerSecond: 0, intervals: [], retransmits: 0, error: r.stderr || r.stdout };
  }
  const udp = j.end?.sum;
  const stopped = j.error === INTERRUPTED && opts.stop?.aborted;
  if (stopped) delete j.error;
  const intervals = (j.intervals ?? []).map((i) => i.sum.bits_per_second);
  if (stopped) intervals.pop();
  return {
    bitsPerSecond: j.end?.sum_received?.bits_per_second ?? udp?.bits_per_second ?? 0,
    intervals,
    retransmits: j.end?.sum_sent?.retransmits ?? 0,
    ...(opts.udp ? { packets: udp?.packets ?? 0, lostPackets: udp?.lost_packets ?? 0 } : {}),
    ...(j.error ? { error: j.error } : {}),
  };
}
