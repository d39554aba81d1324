// A real hypha agent running inside a lab node's network namespace.
import { join } from "node:path";
import { ApiClient } from "../../core/api/client.ts";

const REPO = join(import.meta.dirname!, "../..");
/**
 * How long a lab agent may take to be ready. Alone on 2 cores an agent is ready in about 8 s,
 * most of it loading and verifying BPF programs; three agents starting at once on a busy machine
 * were seen taking over 60 s. A bound on waiting, not a performance check (bench/agent_start
 * measures start time).
 */
export const READY_TIMEOUT_MS = 120_000;

export const MAIN = join(REPO, "main.ts");

export class AgentProcess {
  #child: Deno.ChildProcess | undefined;
  #exit: Promise<Deno.CommandStatus> | undefined;

  constructor(
    readonly ns: string,
    readonly configFile: string,
    readonly socket: string,
    readonly logFile: string,
  ) {}

  get running(): boolean {
    return this.#child !== undefined;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /**
   * Starts the agent and waits until /readyz answers 200 (or the process exits). `detached`
   * agents run in their own session and outlive this process (the demo and `lab up`); `lab down`
   * stops them.
   */
  async start(
    opts: { timeoutMs?: number; detached?: boolean; waitReady?: boolean } = {},
  ): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? READY_TIMEOUT_MS;
    if (this.#child) throw new Error(`agent in ${this.ns} is already running`);
    const cmd = [
      "ip",
      "netns",
      "exec",
      this.ns,
      Deno.execPath(),
      "run",
      "-A",
      MAIN,
      "agent",
      "--config",
      this.configFile,
    ]
      .map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
    // `exec` twice (bash, then ip netns exec) so the child pid is the agent itself.
    const shell = ["bash", "-c", `exec ${cmd} >>'${this.logFile}' 2>&1`];
    const [bin, ...args] = opts.detached ? ["setsid", ...shell] : shell;
    this.#child = new Deno.Command(bin!, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    this.#exit = this.#child.status;
    const deadline = Date.now() + timeoutMs;
    using client = new ApiClient({ socket: this.socket });
    for (;;) {
      const exited = await Promise.race([
        this.#exit,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 100)),
      ]);
      if (exited) {
        this.#child = undefined;
        throw new Error(
          `agent in ${this.ns} exited with code ${exited.code} during start:\n${await this
            .logTail()}`,
        );
      }
      try {
        // /healthz answers as soon as the API serves; /readyz once the node is up
        const res = await client.request("GET", opts.waitReady === false ? "/healthz" : "/readyz");
        await res.body?.cancel();
        if (opts.detached) this.#child.unref();
        return;
      } catch {
        // not ready yet
      }
      if (Date.now() > deadline) {
        await this.stop("SIGKILL");
        throw new Error(
          `agent in ${this.ns} not ready after ${timeoutMs} ms:\n${await this.logTail()}`,
        );
      }
    }
  }

  /** Waits until /readyz answers 200. */
  async waitReady(timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    using client = new ApiClient({ socket: this.socket });
    for (;;) {
      try {
        const res = await client.request("GET", "/readyz");
        await res.body?.cancel();
        return;
      } catch {
        // not ready yet
      }
      if (!this.#child) {
        throw new Error(`agent in ${this.ns} is not running:\n${await this.logTail()}`);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `agent in ${this.ns} not ready after ${timeoutMs} ms:\n${await this.logTail()}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops the agent with `signal`; SIGTERM escalates to SIGKILL after 10 s. Returns the exit code. */
  async stop(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<number | undefined> {
    const child = this.#child;
    if (!child || !this.#exit) return undefined;
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, 10_000);
    const status = await this.#exit;
    clearTimeout(timer);
    this.#child = undefined;
    this.#exit = undefined;
    return status.code;
  }

  async logTail(lines = 30): Promise<string> {
    try {
      return (await Deno.readTextFile(this.logFile)).trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }
}
