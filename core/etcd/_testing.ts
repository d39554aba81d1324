// Helpers for the etcd tests: a real cluster in a temporary directory (plain, or TLS with client
// certificates from a test CA), and polling.
import { EtcdCluster } from "../../tests/lab/etcd.ts";
import { filesOf, testPki } from "../tls/_testing.ts";
import type { PkiDir } from "../tls/mod.ts";
import { EtcdClient, type EtcdClientOptions } from "./client.ts";
import type { EtcdLogger, EtcdTls } from "./types.ts";

/** Records what the client logs, so tests stay quiet and can assert on warnings. */
export function recordingLogger(): EtcdLogger & { lines: string[] } {
  const lines: string[] = [];
  const rec = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    void lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  return { lines, warn: rec("warn"), error: rec("error") };
}

/**
 * Runs `fn` against a fresh cluster; the cluster, every client made through `connect` and the
 * temporary directory are gone afterwards, whether `fn` passed or threw.
 */
export async function withEtcd(
  members: 1 | 3,
  fn: (
    cluster: EtcdCluster,
    connect: (opts?: Partial<EtcdClientOptions>) => EtcdClient,
    pki: PkiDir | undefined,
  ) => Promise<void>,
  opts: { tls?: boolean } = {},
): Promise<void> {
  // tmpfs when there is one: etcd preallocates a 64 MB WAL and fsyncs every write.
  const shm = await Deno.stat("/dev/shm").then((s) => s.isDirectory, () => false);
  const dataDir = await Deno.makeTempDir({
    prefix: "hypha-etcd-",
    ...(shm ? { dir: "/dev/shm" } : {}),
  });
  const clients: EtcdClient[] = [];
  await using pki = opts.tls ? await testPki(["etcd0", "etcd1", "etcd2", "client"]) : undefined;
  try {
    await using cluster = await EtcdCluster.start({
      members,
      dataDir,
      ...(pki
        ? {
          tls: {
            ca: pki.path("ca.crt"),
            member: (i) => filesOf(pki, `etcd${i}`),
            client: filesOf(pki, "client"),
          },
        }
        : {}),
    });
    const tls = pki ? await tlsOf(pki, "client") : undefined;
    const connect = (opts: Partial<EtcdClientOptions> = {}) => {
      const client = new EtcdClient({
        endpoints: cluster.endpoints,
        logger: recordingLogger(),
        ...(tls ? { tls } : {}),
        ...opts,
      });
      clients.push(client);
      return client;
    };
    try {
      await fn(cluster, connect, pki);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

/** Polls `cond` every 20 ms until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(20);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** `count` consecutive free loopback ports in 42000-42999 (nothing listens there right now). */
export function freePorts(count: number): number[] {
  for (;;) {
    const base = 42000 + Math.floor(Math.random() * (1000 - count));
    const ports = Array.from({ length: count }, (_, i) => base + i);
    const free = ports.every((port) => {
      try {
        Deno.listen({ hostname: "127.0.0.1", port }).close();
        return true;
      } catch {
        return false;
      }
    });
    if (free) return ports;
  }
}

/** The client TLS material of `name` in a test CA directory. */
export async function tlsOf(pki: PkiDir, name: string): Promise<EtcdTls> {
  const files = filesOf(pki, name);
  return {
    caPem: await Deno.readTextFile(files.ca),
    certPem: await Deno.readTextFile(files.cert),
    keyPem: await Deno.readTextFile(files.key),
  };
}

export interface TcpProxy extends AsyncDisposable {
  port: number;
  /** Stops passing bytes either way, closing nothing: the path is half-open until thaw(). */
  freeze(): void;
  thaw(): void;
}

/** A TCP proxy on loopback to 127.0.0.1:`targetPort`, for cutting a path without a FIN or RST. */
export function tcpProxy(targetPort: number): TcpProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  let thawed = Promise.withResolvers<void>();
  thawed.resolve();
  const pump = async (from: Deno.Conn, to: Deno.Conn) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        await thawed.promise;
        for (let at = 0; at < n;) at += await to.write(buf.subarray(at, n));
      }
    } catch {
      // either side closed
    }
    for (const c of [from, to]) {
      conns.delete(c);
      try {
        c.close();
      } catch {
        // already closed
      }
    }
  };
  const pumps: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      const upstream = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
      conns.add(conn).add(upstream);
      pumps.push(pump(conn, upstream), pump(upstream, conn));
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    freeze: () => {
      thawed = Promise.withResolvers<void>();
    },
    thaw: () => thawed.resolve(),
    [Symbol.asyncDispose]: async () => {
      thawed.resolve();
      listener.close();
      for (const c of conns) c.close();
      await accepting;
      await Promise.all(pumps);
    },
  };
}
