// Running commands on the host and inside the lab's network namespaces, with timeouts.
import { nsArgv } from "./cgroup.ts";

export class CommandError extends Error {
  override name = "CommandError";
}

export interface RunOptions {
  timeoutMs?: number;
  /** Return the result instead of throwing on a non-zero exit. */
  allowFail?: boolean;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function run(cmd: string[], opts: RunOptions = {}): Promise<RunResult> {
  const [bin, ...args] = cmd;
  const signal = AbortSignal.timeout(opts.timeoutMs ?? 30_000);
  const out = await new Deno.Command(bin!, { args, stdout: "piped", stderr: "piped", signal })
    .output();
  const result = {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
  if (!out.success && !opts.allowFail) {
    throw new CommandError(
      `${cmd.join(" ")} failed (exit ${out.code}): ${result.stderr.trim() || result.stdout.trim()}`,
    );
  }
  return result;
}

/** `ip -n <ns> ...` (or plain `ip ...` without a namespace). */
export function ip(ns: string | null, ...args: string[]): Promise<RunResult> {
  return run(ns ? ["ip", "-n", ns, ...args] : ["ip", ...args]);
}

/**
 * Runs a command inside a network namespace; in a lab node's or pod's namespace, also inside
 * its cgroup (tests/lab/cgroup.ts), as the node's workloads run.
 */
export function inNs(ns: string, cmd: string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(nsArgv(ns, cmd), opts);
}

export async function listNetns(): Promise<string[]> {
  const { stdout } = await run(["ip", "-j", "netns", "list"]);
  const list = stdout.trim() ? JSON.parse(stdout) as Array<{ name: string }> : [];
  return list.map((n) => n.name);
}
