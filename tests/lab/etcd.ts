// Real etcd clusters for tests: 1 or 3 `etcd` processes forming a static cluster, each member on
// its own ports (several clusters can run at once), optionally inside a network namespace, and
// optionally with TLS for clients and peers (client certificates required). Member indexes are
// 0-based. Every member logs to `<dataDir>/etcd<i>.log`; start errors carry its tail.
// close() (or `await using`) kills every member and removes what the cluster wrote to dataDir.
import { join } from "node:path";
import { run } from "./netns.ts";

export interface EtcdClusterOptions {
  members: 1 | 3;
  /** Network namespace to run member i in; undefined runs it in the current one. */
  ns?: (i: number) => string | undefined;
  /** Address member i listens on (default 127.0.0.1). */
  host?: (i: number) => string;
  /** Where member data directories and logs go (created if missing). */
  dataDir: string;
  /**
   * Member i listens on basePort + 2i (clients) and basePort + 2i + 1 (peers). Default: random in
   * 42000-42999, picked again when a port is taken.
   */
  basePort?: number;
  /** How long start() and restart() wait for health (default 20 s). */
  timeoutMs?: number;
  /** TLS for clients and peers, with --client-cert-auth: https URLs. */
  tls?: EtcdClusterTls;
}

/** PEM files for a TLS cluster. */
export interface EtcdClusterTls {
  ca: string;
  /** Member i's certificate: server and client usage (peers and etcd's own gateway present it). */
  member(i: number): { cert: string; key: string };
  /** A client certificate the harness (health checks, etcdctl) presents. */
  client: { cert: string; key: string };
}

export interface EtcdMember {
  readonly index: number;
  readonly name: string;
  readonly ns: string | undefined;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly pid: number | undefined;
  readonly running: boolean;
}

const PORT_MIN = 42000;
const PORT_SLOTS = 166; // 6 ports each: 42000-42995
const START_ATTEMPTS = 5;

class PortInUse extends Error {}

const quote = (a: string) => `'${a.replace(/'/g, "'\\''")}'`;

class Member implements EtcdMember {
  #child: Deno.ChildProcess | undefined;
  #exit: Promise<Deno.CommandStatus> | undefined;

  constructor(
    readonly index: number,
    readonly ns: string | undefined,
    readonly clientUrl: string,
    readonly peerUrl: string,
    readonly dataDir: string,
    readonly logFile: string,
    readonly args: string[],
    readonly tls: EtcdClusterTls | undefined,
  ) {}

  get name(): string {
    return `etcd${this.index}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  spawn(): void {
    if (this.#child) throw new Error(`etcd member "${this.name}" is already running`);
    const cmd = [...(this.ns ? ["ip", "netns", "exec", this.ns] : []), "etcd", ...this.args];
    // `exec` all the way down so the child pid is etcd itself and signals reach it.
    this.#child = new Deno.Command("bash", {
      args: ["-c", `exec ${cmd.map(quote).join(" ")} >>${quote(this.logFile)} 2>&1`],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    this.#exit = this.#child.status;
  }

  /** Waits until the member reports healthy (it has a leader), or fails with its log tail. */
  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const tick = delay(100);
      const exited = await Promise.race([this.#exit, tick.promise]);
      tick.cancel();
      if (exited) {
        this.#child = this.#exit = undefined;
        const log = await this.logTail();
        const msg =
          `etcd member "${this.name}" exited with code ${exited.code} during start:\n${log}`;
        throw /address already in use/.test(log) ? new PortInUse(msg) : new Error(msg);
      }
      if (await this.#healthy()) return;
      if (Date.now() > deadline) {
        throw new Error(
          `etcd member "${this.name}" not healthy after ${timeoutMs} ms:\n${await this.logTail()}`,
        );
      }
    }
  }

  async #healthy(): Promise<boolean> {
    if (this.ns || this.tls) {
      const cmd = [
        "etcdctl",
        `--endpoints=${this.clientUrl}`,
        ...etcdctlTlsFlags(this.tls),
        "endpoint",
        "health",
      ];
      const res = await run([...(this.ns ? ["ip", "netns", "exec", this.ns] : []), ...cmd], {
        allowFail: true,
        timeoutMs: 3_000,
      }).catch(() => undefined);
      return res?.code === 0;
    }
    const timeout = delay(1_000);
    const ctl = new AbortController();
    timeout.promise.then(() => ctl.abort());
    try {
      const res = await fetch(`${this.clientUrl}/health`, { signal: ctl.signal });
      const body = await res.json() as { health?: string };
      return body.health === "true";
    } catch {
      return false;
    } finally {
      timeout.cancel();
    }
  }

  /** Sends `signal` and waits for the exit; SIGTERM escalates to SIGKILL after 10 s. */
  async stop(signal: "SIGTERM" | "SIGKILL"): Promise<void> {
    const child = this.#child;
    if (!child || !this.#exit) return;
    const kill = (s: Deno.Signal) => {
      try {
        child.kill(s);
      } catch {
        // already gone
      }
    };
    kill(signal);
    const timer = setTimeout(() => kill("SIGKILL"), 10_000);
    await this.#exit;
    clearTimeout(timer);
    this.#child = this.#exit = undefined;
  }

  async logTail(lines = 30): Promise<string> {
    try {
      const text = await Deno.readTextFile(this.logFile);
      return text.trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }
}

export class EtcdCluster implements AsyncDisposable {
  readonly #members: Member[];
  readonly tls: EtcdClusterTls | undefined;

  private constructor(members: Member[], tls: EtcdClusterTls | undefined) {
    this.#members = members;
    this.tls = tls;
  }

  /** Starts every member and waits until all are healthy. */
  static async start(opts: EtcdClusterOptions): Promise<EtcdCluster> {
    await Deno.mkdir(opts.dataDir, { recursive: true });
    for (let attempt = 1;; attempt++) {
      const basePort = opts.basePort ?? freeBasePort(opts);
      const cluster = new EtcdCluster(plan(opts, basePort), opts.tls);
      try {
        for (const m of cluster.#members) m.spawn();
        await Promise.all(cluster.#members.map((m) => m.waitHealthy(opts.timeoutMs ?? 20_000)));
        return cluster;
      } catch (err) {
        await cluster.close();
        if (!(err instanceof PortInUse) || opts.basePort || attempt === START_ATTEMPTS) throw err;
      }
    }
  }

  get size(): number {
    return this.#members.length;
  }

  /** Client URLs of all members, running or not, by index. */
  get endpoints(): string[] {
    return this.#members.map((m) => m.clientUrl);
  }

  member(i: number): EtcdMember {
    return this.#at(i);
  }

  /** Stops member i gracefully (SIGTERM). */
  stop(i: number): Promise<void> {
    return this.#at(i).stop("SIGTERM");
  }

  /** Kills member i (SIGKILL), as a crash would. */
  kill(i: number): Promise<void> {
    return this.#at(i).stop("SIGKILL");
  }

  /** Starts a stopped member again on its data directory; it rejoins the cluster. */
  async restart(i: number, timeoutMs = 20_000): Promise<void> {
    const m = this.#at(i);
    await m.stop("SIGTERM");
    m.spawn();
    try {
      await m.waitHealthy(timeoutMs);
    } catch (err) {
      await m.stop("SIGKILL");
      throw err;
    }
  }

  /** Kills every member and removes their data directories and logs. */
  async close(): Promise<void> {
    await Promise.all(this.#members.map((m) => m.stop("SIGKILL")));
    for (const m of this.#members) {
      await Deno.remove(m.dataDir, { recursive: true }).catch(() => {});
      await Deno.remove(m.logFile).catch(() => {});
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #at(i: number): Member {
    const m = this.#members[i];
    if (!m) throw new RangeError(`No etcd member ${i}: the cluster has ${this.size}`);
    return m;
  }
}

/** etcdctl's flags for a TLS cluster (none for a plain one). */
export function etcdctlTlsFlags(tls: EtcdClusterTls | undefined): string[] {
  if (!tls) return [];
  return [`--cacert=${tls.ca}`, `--cert=${tls.client.cert}`, `--key=${tls.client.key}`];
}

function tlsArgs(tls: EtcdClusterTls | undefined, i: number): string[] {
  if (!tls) return [];
  const { cert, key } = tls.member(i);
  return [
    `--cert-file=${cert}`,
    `--key-file=${key}`,
    "--client-cert-auth",
    `--trusted-ca-file=${tls.ca}`,
    `--peer-cert-file=${cert}`,
    `--peer-key-file=${key}`,
    "--peer-client-cert-auth",
    `--peer-trusted-ca-file=${tls.ca}`,
  ];
}

function plan(opts: EtcdClusterOptions, basePort: number): Member[] {
  const n = opts.members;
  const host = (i: number) => opts.host?.(i) ?? "127.0.0.1";
  const scheme = opts.tls ? "https" : "http";
  const clientUrl = (i: number) => `${scheme}://${host(i)}:${basePort + 2 * i}`;
  const peerUrl = (i: number) => `${scheme}://${host(i)}:${basePort + 2 * i + 1}`;
  const initialCluster = Array.from({ length: n }, (_, i) => `etcd${i}=${peerUrl(i)}`).join(",");
  const token = `hypha-${basePort}-${crypto.randomUUID().slice(0, 8)}`;
  return Array.from({ length: n }, (_, i) => {
    const dataDir = join(opts.dataDir, `etcd${i}`);
    const args = [
      `--name=etcd${i}`,
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${clientUrl(i)}`,
      `--advertise-client-urls=${clientUrl(i)}`,
      `--listen-peer-urls=${peerUrl(i)}`,
      `--initial-advertise-peer-urls=${peerUrl(i)}`,
      `--initial-cluster=${initialCluster}`,
      `--initial-cluster-token=${token}`,
      "--initial-cluster-state=new",
      // Fast elections: tests kill members and expect the rest to carry on within a second.
      "--heartbeat-interval=50",
      "--election-timeout=500",
      "--logger=zap",
      ...tlsArgs(opts.tls, i),
    ];
    return new Member(
      i,
      opts.ns?.(i),
      clientUrl(i),
      peerUrl(i),
      dataDir,
      join(opts.dataDir, `etcd${i}.log`),
      args,
      opts.tls,
    );
  });
}

/** A random base whose ports are free here (members in other namespaces are not checked). */
function freeBasePort(opts: EtcdClusterOptions): number {
  for (let tries = 0; tries < 50; tries++) {
    const base = PORT_MIN + 6 * Math.floor(Math.random() * PORT_SLOTS);
    const free = Array.from({ length: 2 * opts.members }, (_, k) => k).every((k) => {
      const i = Math.floor(k / 2);
      if (opts.ns?.(i)) return true;
      try {
        Deno.listen({ hostname: opts.host?.(i) ?? "127.0.0.1", port: base + k }).close();
        return true;
      } catch {
        return false;
      }
    });
    if (free) return base;
  }
  throw new Error(`No free ports for etcd in ${PORT_MIN}-${PORT_MIN + 6 * PORT_SLOTS - 1}`);
}

/** A timer that resolves with undefined, and can be cancelled so no timer outlives its use. */
function delay(ms: number): { promise: Promise<undefined>; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)));
  return { promise, cancel: () => clearTimeout(timer) };
}
