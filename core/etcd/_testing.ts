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
