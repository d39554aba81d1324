// Running iproute2: the netlink edge of hypha. One `ip -batch` process applies a list of
// changes (in the agent's namespace or, through nsenter, in a pod's), and `ip -j` answers
// queries as JSON. Every call is bounded by a timeout and its errors name the command that
// failed and what ip said.

export class NetlinkError extends Error {
  override name = "NetlinkError";
  constructor(message: string, readonly stderr = "") {
    super(message);
  }
}

export interface IpOptions {
  /** Run inside this network namespace (a path such as /var/run/netns/x or /proc/PID/ns/net). */
  netns?: string;
  timeoutMs?: number;
}

const decoder = new TextDecoder();

function command(args: string[], opts: IpOptions): [string, string[]] {
  return opts.netns ? ["nsenter", [`--net=${opts.netns}`, "--", "ip", ...args]] : ["ip", args];
}

/** `ip <args>`; returns stdout, throws NetlinkError with ip's message on failure. */
export async function ip(args: string[], opts: IpOptions = {}): Promise<string> {
  const [bin, argv] = command(args, opts);
  const out = await new Deno.Command(bin, {
    args: argv,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
  }).output();
  if (!out.success) {
    const stderr = decoder.decode(out.stderr).trim();
    throw new NetlinkError(`ip ${args.join(" ")}: ${stderr || `exit ${out.code}`}`, stderr);
  }
  return decoder.decode(out.stdout);
}

/** `ip -j <args>` parsed; empty output is an empty list. */
export async function ipJson<T>(args: string[], opts: IpOptions = {}): Promise<T[]> {
  const text = (await ip(["-j", ...args], opts)).trim();
  return text ? JSON.parse(text) as T[] : [];
}

/**
 * Applies `lines` (each one ip command without the leading `ip`) in one process, stopping at the
 * first failure (`-batch` without `-force`). The error names the failing line. The child is
 * always reaped: its output is read while the input is written, and when the input cannot be
 * written (ip already exited at a bad line, nsenter failed) the child is killed and awaited.
 */
export async function ipBatch(lines: string[], opts: IpOptions = {}): Promise<void> {
  if (lines.length === 0) return;
  const [bin, argv] = command(["-batch", "-"], opts);
  const child = new Deno.Command(bin, {
    args: argv,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
  }).spawn();
  const output = child.output();
  let writeError: Error | undefined;
  try {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(lines.join("\n") + "\n"));
    await w.close();
  } catch (err) {
    writeError = err as Error;
    try {
      child.kill("SIGKILL");
    } catch {
      // it has exited already
    }
  }
  const out = await output;
  if (out.success && !writeError) return;
  const where = opts.netns ? ` in ${opts.netns}` : "";
  const stderr = decoder.decode(out.stderr).trim();
  // iproute2 ends with "Command failed -:N" (N counts from 1); "line N" is kept for other builds
  const m = /(?:Command failed [^\n]*:|line )(\d+)/.exec(stderr);
  const line = m ? lines[Number(m[1]) - 1] : undefined;
  const why = stderr ||
    (writeError
      ? `writing the batch failed: ${writeError.message}`
      : `exit ${out.code}${out.signal ? ` (${out.signal}, timed out?)` : ""}`);
  throw new NetlinkError(`ip ${line ? `"${line}"` : "batch"}${where}: ${why}`, stderr);
}
