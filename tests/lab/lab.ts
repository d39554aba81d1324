// A lab: a cluster of network namespaces on one machine. An underlay namespace holds a bridge;
// every node namespace has `eth0` on it and runs its own agent; an external namespace plays "the
// world". Nothing is added to the root namespace. Each lab has its own id, directory and bpffs,
// so labs and nodes never clash; destroy() (or `await using`) removes everything.
import { join } from "node:path";
import { stringify } from "yaml";
import { mergeValues } from "../../core/config/layers.ts";
import { PkiDir } from "../../core/tls/mod.ts";
import { AgentProcess, MAIN } from "./agent_process.ts";
import { createNodeCgroup, ensureCgroupMount, removeLabCgroups } from "./cgroup.ts";
import { EtcdCluster, etcdctlTlsFlags } from "./etcd.ts";
import { enableEtcdAuth, randomPassword } from "./etcd_auth.ts";
import { inNs, ip, listNetns, run } from "./netns.ts";
import { type LabPod, type PodOptions, Pods } from "./pods.ts";

export const LAB_ROOT = "/run/hypha-lab";
const PREFIX = "hl-";

export interface LabNode {
  name: string;
  ns: string;
  ip: string;
  dir: string;
  configFile: string;
  socket: string;
  agent: AgentProcess;
}

export interface LabOptions {
  nodes?: number | string[];
  /** Extra config for every node (merged into its YAML file). */
  nodeConfig?: Record<string, unknown>;
  /** Real etcd members (in the lab's `kv` namespace) as the cluster store; 0 = local store.
   * They run with TLS and client-certificate auth (peers too); each agent has a client
   * certificate of its own (`<node>-etcd`, no common name). */
  etcd?: 0 | 1 | 3;
  /** etcd auth on: a user per node whose role writes only its own keys (etcd_auth.ts). */
  etcdAuth?: boolean;
  /** Cross-node pod routing (default tunnel). */
  routing?: "tunnel" | "native";
}

/** An address outside the cluster, on the external namespace: what pods reach as "the world". */
export const WORLD_IP = "198.51.100.10";

function randomId(): string {
  return crypto.getRandomValues(new Uint8Array(2)).reduce(
    (s, b) => s + b.toString(16).padStart(2, "0"),
    "",
  );
}

export class Lab implements AsyncDisposable {
  readonly nodes = new Map<string, LabNode>();
  readonly underlay: string;
  readonly external: { ns: string; ip: string };
  readonly subnet: string;
  readonly bpffs: string;
  readonly kv: { ns: string; ip: string };
  etcd: EtcdCluster | undefined;
  readonly pods: Pods;
  /** The lab's CA (`hypha certs` layout): a certificate per node (its address and name) and per
   * etcd member; tests issue more (`lab.pki.issue`) for clients of their own. */
  readonly pki: PkiDir;

  private constructor(readonly id: string, readonly dir: string) {
    this.underlay = `${PREFIX}${id}-ul`;
    const x = parseInt(id.slice(0, 2), 16) % 200 + 20;
    this.subnet = `10.${x}.0`;
    this.external = { ns: `${PREFIX}${id}-ext`, ip: `${this.subnet}.254` };
    this.bpffs = join(dir, "bpffs");
    this.kv = { ns: `${PREFIX}${id}-kv`, ip: `${this.subnet}.250` };
    this.pods = new Pods(this);
    this.pki = new PkiDir(join(dir, "pki"));
  }

  /** The CA, certificate and key of `name` (a node or an etcd member) in the lab's PKI. */
  tlsFiles(name: string): { ca: string; cert: string; key: string } {
    return {
      ca: this.pki.path("ca.crt"),
      cert: this.pki.path(`${name}.crt`),
      key: this.pki.path(`${name}.key`),
    };
  }

  static async create(opts: LabOptions = {}): Promise<Lab> {
    const names = typeof opts.nodes === "number" || opts.nodes === undefined
      ? Array.from({ length: (opts.nodes as number | undefined) ?? 2 }, (_, i) => `n${i + 1}`)
      : opts.nodes;
    for (const n of names) {
      if (!/^[a-z0-9]{1,6}$/.test(n)) {
        throw new Error(`Lab node name "${n}" must be 1-6 lowercase letters/digits`);
      }
    }
    const existing = new Set(await listNetns());
    let id = randomId();
    while (existing.has(`${PREFIX}${id}-ul`)) id = randomId();
    const lab = new Lab(id, join(LAB_ROOT, id));
    try {
      await lab.#build(names, opts);
    } catch (err) {
      await lab.destroy();
      throw err;
    }
    return lab;
  }

  async #build(names: string[], opts: LabOptions): Promise<void> {
    const extra = opts.nodeConfig ?? {};
    await Deno.mkdir(this.bpffs, { recursive: true });
    await run(["mount", "-t", "bpf", "bpf", this.bpffs]);
    await ensureCgroupMount();
    await this.pki.createCa({ name: `hypha lab ${this.id} CA`, days: 7 });
    await run(["ip", "netns", "add", this.underlay]);
    await ip(this.underlay, "link", "set", "lo", "up");
    await this.addBridge("br0");
    const attach = async (ns: string, port: string, address: string) => {
      await run(["ip", "netns", "add", ns]);
      await this.plug(ns, { bridge: "br0", port, ifname: "eth0", address });
      await ip(ns, "link", "set", "lo", "up");
    };
    await attach(this.external.ns, `h${this.id}ext`, this.external.ip);
    // "the world": an address beyond the external namespace that only masquerading reaches
    await ip(this.external.ns, "addr", "add", `${WORLD_IP}/32`, "dev", "lo");
    let store: Record<string, unknown> = {};
    const podCIDR = (i: number) => `10.244.${i}.0/24`;
    if (!opts.etcd && names.length > 1) {
      // Local store: every node knows the others from Node manifests (a bare-metal setup).
      const dir = join(this.dir, "manifests");
      await Deno.mkdir(dir, { recursive: true });
      const docs = names.map((name, i) => ({
        apiVersion: "v1",
        kind: "Node",
        metadata: { name },
        spec: { podCIDR: podCIDR(i) },
        status: { addresses: [{ type: "InternalIP", address: `${this.subnet}.${i + 11}` }] },
      }));
      await Deno.writeTextFile(
        join(dir, "nodes.yaml"),
        docs.map((d) => stringify(d)).join("---\n"),
      );
      store = { store: { kind: "local", manifests: dir } };
    }
    const etcdPasswords = new Map<string, string>();
    if (opts.etcd) {
      await attach(this.kv.ns, `h${this.id}kv`, this.kv.ip);
      for (let i = 0; i < opts.etcd; i++) {
        await this.pki.issue({
          name: `etcd${i}`,
          ips: [this.kv.ip],
          usage: ["server", "client"], // peers and etcd's own gateway present it as a client
          days: 6,
        });
      }
      // etcdctl's certificate: with etcd auth on, its common name makes it etcd's root user.
      await this.pki.issue({ name: "root", usage: ["client"], days: 6 });
      this.etcd = await EtcdCluster.start({
        members: opts.etcd,
        ns: () => this.kv.ns,
        host: () => this.kv.ip,
        dataDir: join(this.dir, "etcd"),
        tls: {
          ca: this.pki.path("ca.crt"),
          member: (i) => this.tlsFiles(`etcd${i}`),
          client: this.tlsFiles("root"),
        },
      });
      store = { store: { kind: "etcd", etcd: { endpoints: this.etcd.endpoints } } };
      if (opts.etcdAuth) {
        for (const name of names) etcdPasswords.set(name, randomPassword());
        await enableEtcdAuth((args) => this.etcdctl(args), this.etcdBase, etcdPasswords);
      }
    }
    for (const [i, name] of names.entries()) {
      const ns = `${PREFIX}${this.id}-${name}`;
      const address = `${this.subnet}.${i + 11}`;
      await this.pki.issue({
        name,
        ips: [address],
        dns: [name],
        usage: ["server", "client"],
        days: 6,
      });
      await attach(ns, `h${this.id}${name}`, address);
      await ip(ns, "route", "add", "default", "via", this.external.ip);
      const dir = join(this.dir, name);
      await Deno.mkdir(dir, { recursive: true });
      const cgroupRoot = createNodeCgroup(this.id, name);
      const config = mergeValues({
        node: { name, cluster: `lab-${this.id}` },
        paths: { bpffs: this.bpffs, state: join(dir, "state"), run: join(dir, "run") },
        datapath: { devices: ["eth0"], cgroupRoot },
        networking: { routing: opts.routing ?? "tunnel" },
        // flow peers over mutual TLS with the lab's CA (and its revocation list)
        observability: {
          peer: { tls: { ...this.tlsFiles(name), crl: this.pki.path("crl.pem") } },
        },
        ...store,
      }, opts.etcd ? await this.#etcdClientConfig(name, dir, etcdPasswords.get(name)) : {});
      const merged = mergeValues(config, extra);
      const configFile = join(dir, "config.yaml");
      await Deno.writeTextFile(configFile, stringify(merged));
      const socket = join(dir, "run", name, "api.sock");
      const agent = new AgentProcess(ns, configFile, socket, join(dir, "agent.log"));
      this.nodes.set(name, { name, ns, ip: address, dir, configFile, socket, agent });
    }
  }

  /** A node's store.etcd credentials: its own client certificate, and its etcd user if any. */
  async #etcdClientConfig(name: string, dir: string, password: string | undefined) {
    const cert = `${name}-etcd`;
    await this.pki.issue({ name: cert, usage: ["client"], days: 6, noCommonName: true });
    const etcd: Record<string, unknown> = { tls: this.tlsFiles(cert) };
    if (password) {
      const passwordFile = join(dir, "etcd-password");
      await Deno.writeTextFile(passwordFile, password, { mode: 0o600 });
      Object.assign(etcd, { username: name, passwordFile });
    }
    return { store: { etcd } };
  }

  /** A bridge in the underlay namespace (br0 is the lab's own underlay network). */
  async addBridge(name: string): Promise<void> {
    await ip(this.underlay, "link", "add", name, "type", "bridge");
    await ip(this.underlay, "link", "set", name, "up");
  }

  /** A veth from `ns` (named `ifname`, with `address`/24) to `port` of an underlay bridge. */
  async plug(
    ns: string,
    o: { bridge: string; port: string; ifname: string; address: string },
  ): Promise<void> {
    await ip(
      this.underlay,
      "link",
      "add",
      o.port,
      "type",
      "veth",
      "peer",
      "name",
      o.ifname,
      "netns",
      ns,
    );
    await ip(this.underlay, "link", "set", o.port, "master", o.bridge, "up");
    await ip(ns, "addr", "add", `${o.address}/24`, "dev", o.ifname);
    await ip(ns, "link", "set", o.ifname, "up");
  }

  node(name: string): LabNode {
    const n = this.nodes.get(name);
    if (!n) {
      throw new Error(
        `Lab ${this.id} has no node "${name}" (nodes: ${[...this.nodes.keys()].join(", ")})`,
      );
    }
    return n;
  }

  async startAgents(opts: { detached?: boolean } = {}): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.agent.start(opts)));
  }

  /** Runs the hypha CLI against a node's agent; returns stdout (throws with stderr on failure). */
  async hypha(node: string, args: string[], opts: { allowFail?: boolean } = {}) {
    const n = this.node(node);
    return await inNs(
      n.ns,
      [Deno.execPath(), "run", "-A", MAIN, ...args, "--config", n.configFile],
      {
        timeoutMs: 60_000,
        ...opts,
      },
    );
  }

  /** etcdctl against the lab's etcd, from the lab's etcd namespace (never the root one). */
  async etcdctl(args: string[]): Promise<string> {
    if (!this.etcd) throw new Error(`Lab ${this.id} has no etcd (create it with etcd: 1 or 3)`);
    const r = await inNs(this.kv.ns, [
      "etcdctl",
      `--endpoints=${this.etcd.endpoints.join(",")}`,
      ...etcdctlTlsFlags(this.etcd.tls),
      ...args,
    ], { timeoutMs: 10_000 });
    return r.stdout;
  }

  /** The etcd key prefix of the lab's cluster (`<prefix>/<cluster>/`, core/store/etcd_keys.ts). */
  get etcdBase(): string {
    return `/hypha/lab-${this.id}/`;
  }

  /** Runs a command inside a node's namespace. */
  exec(node: string, cmd: string[], opts: { allowFail?: boolean; timeoutMs?: number } = {}) {
    return inNs(this.node(node).ns, cmd, opts);
  }

  /** Creates a pod on `node` through the real CNI plugin (see pods.ts). */
  addPod(node: string, key: string, opts: PodOptions = {}): Promise<LabPod> {
    return this.pods.add(node, key, opts);
  }

  async destroy(): Promise<void> {
    const errors: string[] = [];
    for (const n of this.nodes.values()) await n.agent.stop().catch((e) => errors.push(String(e)));
    await this.etcd?.close().catch((e) => errors.push(String(e)));
    await destroyLab(this.id).catch((e) => errors.push(String(e)));
    if (errors.length) throw new Error(`Lab ${this.id} cleanup: ${errors.join("; ")}`);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }
}

async function stopProcessesIn(ns: string): Promise<void> {
  const pids = async () =>
    (await run(["ip", "netns", "pids", ns], { allowFail: true })).stdout.split(/\s+/).filter(
      Boolean,
    );
  let left = await pids();
  if (!left.length) return;
  await run(["kill", "-TERM", ...left], { allowFail: true });
  for (let i = 0; i < 50 && left.length; i++) {
    await new Promise((r) => setTimeout(r, 100));
    left = await pids();
  }
  if (left.length) await run(["kill", "-KILL", ...left], { allowFail: true });
}

/**
 * Removes a lab completely, also one whose creating process died: stops what runs in its
 * namespaces, runs `hypha cleanup` for every node (pinned maps and links), deletes the
 * namespaces, unmounts its bpffs and removes its directory.
 */
export async function destroyLab(id: string): Promise<void> {
  const namespaces = (await listNetns()).filter((n) => n.startsWith(`${PREFIX}${id}-`));
  for (const ns of namespaces) await stopProcessesIn(ns);
  const dir = join(LAB_ROOT, id);
  for (const ns of namespaces) {
    const config = join(dir, ns.slice(`${PREFIX}${id}-`.length), "config.yaml");
    try {
      await Deno.stat(config);
    } catch {
      continue; // underlay, external: no agent
    }
    await inNs(ns, [Deno.execPath(), "run", "-A", MAIN, "cleanup", "--config", config], {
      allowFail: true,
      timeoutMs: 60_000,
    });
  }
  for (const ns of namespaces) await run(["ip", "netns", "del", ns], { allowFail: true });
  removeLabCgroups(id);
  await run(["umount", join(dir, "bpffs")], { allowFail: true });
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

/** Ids of labs present on this machine (namespaces or directories). */
export async function listLabs(): Promise<string[]> {
  const ids = new Set<string>();
  for (const ns of await listNetns()) {
    const m = /^hl-([0-9a-f]{4})-/.exec(ns);
    if (m) ids.add(m[1]!);
  }
  try {
    for (const e of Deno.readDirSync(LAB_ROOT)) if (/^[0-9a-f]{4}$/.test(e.name)) ids.add(e.name);
  } catch {
    // no labs
  }
  return [...ids].sort();
}
