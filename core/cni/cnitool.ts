// A test driver that runs a CNI plugin the way a container runtime does: CNI_* environment,
// the network configuration on stdin, the result or error JSON on stdout, the exit code.
// Used by integration tests; every invocation is bounded by a timeout.
import type { CniCommand } from "./env.ts";

/** The per-attachment parameters (spec "Attachment Parameters"). */
export interface CniAttachment {
  containerId: string;
  netns: string;
  ifname: string;
  /** Becomes CNI_ARGS ("K=V;K2=V2"). */
  args?: Record<string, string>;
}

export interface CniToolOptions {
  /** The plugin command line, e.g. [Deno.execPath(), "run", "-A", "core/cni/main.ts"]. */
  plugin: string[];
  /** CNI_PATH; default "/opt/cni/bin". */
  cniPath?: string;
  /** Per invocation; default 60 s. The plugin is killed when it runs longer. */
  timeoutMs?: number;
  /** Extra environment for the plugin (the parent's CNI_* variables are never inherited). */
  env?: Record<string, string>;
}

/** One finished invocation. `json` is stdout parsed (undefined when stdout is empty). */
export interface CniInvocation {
  command: CniCommand;
  exitCode: number;
  stdout: string;
  stderr: string;
  json: unknown;
}

export class CniToolError extends Error {
  override name = "CniToolError";
}

export class CniTool {
  readonly #opts: CniToolOptions;

  constructor(opts: CniToolOptions) {
    if (opts.plugin.length === 0) throw new CniToolError("CniTool needs a plugin command");
    this.#opts = opts;
  }

  add(conf: unknown, attachment: CniAttachment): Promise<CniInvocation> {
    return this.exec("ADD", conf, attachment);
  }

  /** DEL; the attachment's netns may be "" (the spec allows DEL without a netns). */
  del(conf: unknown, attachment: CniAttachment): Promise<CniInvocation> {
    return this.exec("DEL", conf, attachment);
  }

  /** CHECK; `conf` must carry the ADD's result as `prevResult`. */
  check(conf: unknown, attachment: CniAttachment): Promise<CniInvocation> {
    return this.exec("CHECK", conf, attachment);
  }

  /** GC; `conf` must carry `cni.dev/valid-attachments`. */
  gc(conf: unknown, attachment?: Partial<CniAttachment>): Promise<CniInvocation> {
    return this.exec("GC", conf, attachment);
  }

  status(conf: unknown, attachment?: Partial<CniAttachment>): Promise<CniInvocation> {
    return this.exec("STATUS", conf, attachment);
  }

  /** VERSION; stdin is `{ "cniVersion": ... }` of `conf` (or "{}" without one). */
  version(conf?: unknown, attachment?: Partial<CniAttachment>): Promise<CniInvocation> {
    const v = (conf as { cniVersion?: unknown } | undefined)?.cniVersion;
    return this.exec("VERSION", v === undefined ? {} : { cniVersion: v }, attachment);
  }

  /**
   * Runs the plugin once. `stdin` is JSON-encoded unless it is already a string (so tests can
   * send malformed input). Throws CniToolError on timeout or when stdout is not JSON.
   */
  async exec(
    command: CniCommand,
    stdin: unknown,
    attachment: Partial<CniAttachment> = {},
  ): Promise<CniInvocation> {
    const [cmd, ...args] = this.#opts.plugin as [string, ...string[]];
    const child = new Deno.Command(cmd, {
      args,
      env: this.#env(command, attachment),
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timeoutMs = this.#opts.timeoutMs ?? 60_000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    let out: Deno.CommandOutput;
    try {
      const text = typeof stdin === "string" ? stdin : JSON.stringify(stdin);
      [, out] = await Promise.all([writeStdin(child.stdin, text), child.output()]);
    } finally {
      clearTimeout(timer);
    }
    if (timedOut) throw new CniToolError(`CNI ${command} timed out after ${timeoutMs} ms`);
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    let json: unknown = undefined;
    if (stdout.trim() !== "") {
      try {
        json = JSON.parse(stdout);
      } catch (err) {
        throw new CniToolError(
          `CNI ${command} printed invalid JSON on stdout: ${(err as Error).message}: ` +
            JSON.stringify(stdout.slice(0, 200)),
        );
      }
    }
    return { command, exitCode: out.code, stdout, stderr, json };
  }

  #env(command: CniCommand, a: Partial<CniAttachment>): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(Deno.env.toObject())) {
      if (!k.startsWith("CNI_")) env[k] = v;
    }
    Object.assign(env, this.#opts.env, {
      CNI_COMMAND: command,
      CNI_PATH: this.#opts.cniPath ?? "/opt/cni/bin",
    });
    if (a.containerId !== undefined) env.CNI_CONTAINERID = a.containerId;
    if (a.netns !== undefined) env.CNI_NETNS = a.netns;
    if (a.ifname !== undefined) env.CNI_IFNAME = a.ifname;
    if (a.args !== undefined) env.CNI_ARGS = formatCniArgs(a.args);
    return env;
  }
}

/** { A: "1", B: "2" } as CNI_ARGS: "A=1;B=2". */
export function formatCniArgs(args: Record<string, string>): string {
  return Object.entries(args).map(([k, v]) => `${k}=${v}`).join(";");
}

async function writeStdin(stream: WritableStream<Uint8Array>, text: string): Promise<void> {
  const writer = stream.getWriter();
  try {
    await writer.write(new TextEncoder().encode(text));
    await writer.close();
  } catch {
    // the plugin exited without reading all of stdin: its exit code and output tell why
  }
}
