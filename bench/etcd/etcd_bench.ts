// etcd operations through hypha's client, plain vs TLS, and against npm's `etcd3` (gRPC) when it
// is installed somewhere (ETCD3_DIR=<dir with node_modules/etcd3>; it is no dependency of hypha).
// One etcd member on loopback serves both schemes (https with client certificates, and http), its
// data on tmpfs so the numbers are the client's and the transport's, not the disk's. Each round
// runs every client in turn (the order rotates), timing sequential puts and watch events (a put
// until the same client's watcher sees it); p50 and p99 over all rounds.
import { join } from "node:path";
import { Buffer } from "node:buffer";
import { EtcdClient, type WatchEvent } from "../../core/etcd/mod.ts";
import { PkiDir } from "../../core/tls/mod.ts";
import { newReport, type Report, row } from "../lib/report.ts";

const ROUNDS = 10;
const OPS = 100;
const WARMUP = 30;

interface Subject {
  name: string;
  put(key: string, value: string): Promise<void>;
  /** Starts a watch on `prefix`; `onPut` gets each put key. */
  watch(prefix: string, onPut: (key: string) => void): Promise<void>;
  close(): Promise<void>;
}

interface Samples {
  put: number[];
  event: number[];
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))]!;
}

function hyphaSubject(name: string, client: EtcdClient): Subject {
  return {
    name,
    put: async (k, v) => void await client.put(k, v),
    watch: async (prefix, onPut) => {
      const w = client.watch(prefix, {
        prevKv: false,
        onEvents: (events: WatchEvent[]) => events.forEach((e) => onPut(e.key)),
      });
      await w.ready;
    },
    close: () => client.close(),
  };
}

async function etcd3Subject(
  name: string,
  dir: string,
  host: string,
  tls?: { ca: string; cert: string; key: string },
): Promise<Subject> {
  const { Etcd3 } = await import(`file://${dir}/node_modules/etcd3/lib/index.js`);
  const read = (f: string) => Buffer.from(Deno.readFileSync(f));
  const client = new Etcd3({
    hosts: host,
    ...(tls
      ? {
        credentials: {
          rootCertificate: read(tls.ca),
          certChain: read(tls.cert),
          privateKey: read(tls.key),
        },
      }
      : {}),
  });
  const watchers: { cancel(): Promise<void> }[] = [];
  return {
    name,
    put: async (k, v) => void await client.put(k).value(v),
    watch: async (prefix, onPut) => {
      const w = await client.watch().prefix(prefix).create();
      w.on("put", (kv: { key: Buffer }) => onPut(kv.key.toString()));
      watchers.push(w);
    },
    close: async () => {
      for (const w of watchers) await w.cancel();
      client.close();
    },
  };
}

async function measure(s: Subject, samples: Samples, round: number, ops: number) {
  const prefix = `/bench/${s.name.replace(/\W/g, "_")}/${round}/`;
  const waiting = new Map<string, () => void>();
  await s.watch(prefix, (key) => waiting.get(key)?.());
  for (let i = 0; i < ops; i++) {
    const t0 = performance.now();
    await s.put(`${prefix}p${i}`, "v".repeat(100));
    samples.put.push(performance.now() - t0);
  }
  for (let i = 0; i < ops; i++) {
    const key = `${prefix}w${i}`;
    const seen = new Promise<void>((resolve) => waiting.set(key, resolve));
    const t0 = performance.now();
    await s.put(key, "v".repeat(100));
    await seen;
    samples.event.push(performance.now() - t0);
    waiting.delete(key);
  }
}

async function startMember(dir: string, pki: PkiDir, ports: number[]) {
  const [https, http, peer] = ports;
  const f = (n: string) => pki.path(n);
  const child = new Deno.Command("etcd", {
    args: [
      "--name=bench",
      `--data-dir=${join(dir, "data")}`,
      `--listen-client-urls=https://127.0.0.1:${https},http://127.0.0.1:${http}`,
      `--advertise-client-urls=https://127.0.0.1:${https}`,
      `--listen-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-cluster=bench=http://127.0.0.1:${peer}`,
      `--cert-file=${f("etcd.crt")}`,
      `--key-file=${f("etcd.key")}`,
      "--client-cert-auth",
      `--trusted-ca-file=${f("ca.crt")}`,
      "--logger=zap",
      "--log-outputs=stderr",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const probe = new EtcdClient({ endpoints: [`http://127.0.0.1:${http}`], timeoutMs: 500 });
  try {
    for (let i = 0;; i++) {
      try {
        await probe.status();
        return child;
      } catch (err) {
        if (i > 100) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    await probe.close();
  }
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

export async function benchEtcd(): Promise<Report[]> {
  const shm = await Deno.stat("/dev/shm").then((s) => s.isDirectory, () => false);
  const dir = await Deno.makeTempDir({
    prefix: "hypha-etcd-bench-",
    ...(shm ? { dir: "/dev/shm" } : {}),
  });
  const pki = new PkiDir(join(dir, "pki"));
  await pki.createCa({ name: "bench CA", days: 2 });
  await pki.issue({
    name: "etcd",
    ips: ["127.0.0.1"],
    dns: ["localhost"],
    usage: ["server", "client"],
    days: 1,
  });
  await pki.issue({ name: "client", usage: ["client"], days: 1 });
  const ports = [freePort(), freePort(), freePort()];
  const member = await startMember(dir, pki, ports);
  const files = {
    ca: pki.path("ca.crt"),
    cert: pki.path("client.crt"),
    key: pki.path("client.key"),
  };
  const tls = {
    caPem: await Deno.readTextFile(files.ca),
    certPem: await Deno.readTextFile(files.cert),
    keyPem: await Deno.readTextFile(files.key),
  };
  const subjects: Subject[] = [
    hyphaSubject("hypha plain", new EtcdClient({ endpoints: [`http://127.0.0.1:${ports[1]}`] })),
    hyphaSubject(
      "hypha TLS",
      new EtcdClient({ endpoints: [`https://127.0.0.1:${ports[0]}`], tls }),
    ),
  ];
  const etcd3Dir = Deno.env.get("ETCD3_DIR");
  if (etcd3Dir) {
    // Deno's node:tls refuses an IP address as the server name: etcd3 connects by host name.
    subjects.push(await etcd3Subject("etcd3 plain", etcd3Dir, `http://localhost:${ports[1]}`));
    subjects.push(
      await etcd3Subject("etcd3 TLS", etcd3Dir, `https://localhost:${ports[0]}`, files),
    );
  }
  const samples = new Map(subjects.map((s) => [s.name, { put: [], event: [] } as Samples]));
  try {
    for (const s of subjects) await measure(s, { put: [], event: [] }, -1, WARMUP);
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < subjects.length; k++) {
        const s = subjects[(round + k) % subjects.length]!;
        await measure(s, samples.get(s.name)!, round, OPS);
      }
    }
  } finally {
    for (const s of subjects) await s.close();
    member.kill("SIGKILL");
    await member.status;
    await Deno.remove(dir, { recursive: true });
  }
  const ms = (name: string, kind: keyof Samples, p: number) =>
    percentile(samples.get(name)![kind], p);
  const rows = (base: string, mine: string) =>
    (["put", "event"] as const).flatMap((kind) =>
      [0.5, 0.99].map((p) =>
        row(
          `${kind === "put" ? "put" : "watch event (put until seen)"} p${p * 100}`,
          "ms",
          ms(base, kind, p),
          ms(mine, kind, p),
          { lowerIsBetter: true },
        )
      )
    );
  const common = [
    `${ROUNDS} rounds x ${OPS} sequential puts and ${OPS} watch events per client, client order ` +
    "rotating each round; one etcd 3.4 member on loopback serving https (client certificates " +
    "required, HTTP/2) and http (HTTP/1.1), data on tmpfs",
  ];
  const tlsReport = newReport("etcd_tls", "hypha plain");
  tlsReport.rows.push(...rows("hypha plain", "hypha TLS"));
  tlsReport.notes.push(...common, "the hypha column is hypha's client over TLS");
  const reports = [tlsReport];
  if (etcd3Dir) {
    const clientReport = newReport("etcd_client", "etcd3 (npm, gRPC)");
    for (const mode of ["plain", "TLS"]) {
      for (const r of rows(`etcd3 ${mode}`, `hypha ${mode}`)) {
        clientReport.rows.push({ ...r, metric: `${mode} ${r.metric}` });
      }
    }
    tlsReport.rows.push(
      ...rows("etcd3 plain", "etcd3 TLS").map((r) => ({ ...r, metric: `etcd3: ${r.metric}` })),
    );
    clientReport.notes.push(...common, "hypha = the hand-written client over etcd's JSON gateway");
    reports.push(clientReport);
  } else {
    tlsReport.notes.push(
      "etcd3 not compared: set ETCD3_DIR to a directory with node_modules/etcd3",
    );
  }
  return reports;
}

if (import.meta.main) {
  const { printTable, writeReport } = await import("../lib/report.ts");
  for (const r of await benchEtcd()) {
    printTable(r);
    console.log(`wrote ${await writeReport(r)}`);
  }
}
