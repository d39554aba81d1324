// The lab-backed ConformanceCluster: real agents in a multi-node lab with etcd as the cluster
// store, pods wired by the real CNI plugin, pod and namespace labels written where the
// Kubernetes API would keep them (etcd keys the agents watch), policies applied through the
// agents' API, and probes as real connections (rr over TCP/UDP/SCTP, ping for ICMP). Whether
// SCTP can run is asked of the kernel once, by opening an SCTP socket in a lab namespace.
import { ApiClient, ApiClientError } from "../../core/api/client.ts";
import { EtcdKeys } from "../../core/store/etcd_keys.ts";
import { Lab, WORLD_IP } from "../lab/lab.ts";
import { inNs } from "../lab/netns.ts";
import { RR_BIN, rrServe, type RrServer, sctpUnsupported } from "../lab/rr.ts";
import type { ConformanceCluster, ProbeSpec } from "./cluster.ts";

const API_VERSIONS: Record<string, string> = {
  NetworkPolicy: "networking.k8s.io/v1",
  CiliumNetworkPolicy: "cilium.io/v2",
  CiliumClusterwideNetworkPolicy: "cilium.io/v2",
  CiliumCIDRGroup: "cilium.io/v2alpha1",
};

interface Target {
  ns: string;
  ip: string;
}

export class LabCluster implements ConformanceCluster, AsyncDisposable {
  readonly nodeCount: number;
  readonly #lab: Lab;
  readonly #keys: EtcdKeys;
  readonly #targets = new Map<string, Target>();
  readonly #servers: RrServer[] = [];
  readonly #policies = new Map<string, unknown>();
  readonly #extraIps: string[] = [];
  readonly #etcdKeys = new Set<string>();
  readonly #namedPorts = new Map<string, Record<string, { port: number; protocol: string }>>();
  /** Why SCTP probes cannot run (the kernel's answer), or undefined. */
  readonly #noSctp: string | undefined;

  private constructor(lab: Lab, noSctp: string | undefined) {
    this.#lab = lab;
    this.#noSctp = noSctp;
    this.nodeCount = lab.nodes.size;
    this.#keys = new EtcdKeys("/hypha", `lab-${lab.id}`);
  }

  static async create(opts: { nodes: number }): Promise<LabCluster> {
    const lab = await Lab.create({ nodes: opts.nodes, etcd: 1 });
    try {
      await lab.startAgents();
      return new LabCluster(lab, await sctpUnsupported(lab.external.ns));
    } catch (err) {
      await lab.destroy();
      throw err;
    }
  }

  get lab(): Lab {
    return this.#lab;
  }

  unsupported(probe: ProbeSpec): string | undefined {
    return probe.protocol === "SCTP" ? this.#noSctp : undefined;
  }

  /** etcdctl inside the lab's etcd namespace: the root namespace never talks to lab addresses. */
  async #etcd(args: string[]): Promise<void> {
    await this.#lab.etcdctl(args);
  }

  async #put(key: string, value: unknown): Promise<void> {
    this.#etcdKeys.add(key);
    await this.#etcd(["put", key, JSON.stringify(value)]);
  }

  createNamespace(name: string, labels: Record<string, string>): Promise<void> {
    return this.#put(this.#keys.namespace(name), { labels });
  }

  setNamespaceLabels(name: string, labels: Record<string, string>): Promise<void> {
    return this.#put(this.#keys.namespace(name), { labels });
  }

  /** One rr server per port for TCP and UDP, another for SCTP (when the kernel has it). */
  async #serve(ns: string, serve: ProbeSpec[], bind?: string): Promise<void> {
    const ports = (protocols: string[]) =>
      new Set(serve.filter((p) => protocols.includes(p.protocol)).map((p) => p.port));
    const at = bind ? { bind } : {};
    for (const port of ports(["TCP", "UDP"])) {
      this.#servers.push(await rrServe(ns, { port, udp: true, ...at }));
    }
    if (this.#noSctp) return;
    for (const port of ports(["SCTP"])) {
      this.#servers.push(await rrServe(ns, { port, sctp: true, ...at }));
    }
  }

  async createPod(
    key: string,
    opts: {
      labels: Record<string, string>;
      node: number;
      namedPorts: Record<string, { port: number; protocol: string }>;
      serve: ProbeSpec[];
    },
  ): Promise<{ ip: string }> {
    const [namespace, name] = key.split("/");
    this.#namedPorts.set(key, opts.namedPorts);
    await this.#put(this.#keys.pod(namespace!, name!), {
      labels: opts.labels,
      namedPorts: opts.namedPorts,
    });
    const node = [...this.#lab.nodes.keys()][opts.node % this.nodeCount]!;
    const pod = await this.#lab.addPod(node, key);
    this.#targets.set(key, { ns: pod.ns, ip: pod.ip });
    await this.#serve(pod.ns, opts.serve);
    return { ip: pod.ip };
  }

  setPodLabels(key: string, labels: Record<string, string>): Promise<void> {
    const [namespace, name] = key.split("/");
    return this.#put(this.#keys.pod(namespace!, name!), {
      labels,
      namedPorts: this.#namedPorts.get(key) ?? {},
    });
  }

  async createExternal(key: string, ip: string, serve: ProbeSpec[]): Promise<void> {
    const ext = this.#lab.external.ns;
    if (ip !== WORLD_IP) {
      await inNs(ext, ["ip", "addr", "add", `${ip}/32`, "dev", "lo"]);
      this.#extraIps.push(ip);
    }
    this.#targets.set(key, { ns: ext, ip });
    await this.#serve(ext, serve, ip);
  }

  async #api(node: string, path: string, body: string) {
    using client = new ApiClient({ socket: this.#lab.node(node).socket });
    return await client.json<Record<string, unknown>>("POST", path, body);
  }

  async apply(manifest: unknown): Promise<void> {
    try {
      await this.#api("n1", "/v1/policies", JSON.stringify(manifest));
    } catch (err) {
      if (err instanceof ApiClientError) throw new Error(err.message);
      throw err;
    }
    const m = manifest as { kind: string; metadata: { name: string; namespace?: string } };
    this.#policies.set(`${m.kind}/${m.metadata.namespace ?? ""}/${m.metadata.name}`, manifest);
  }

  async delete(ref: { kind: string; namespace?: string; name: string }): Promise<void> {
    const doc = {
      apiVersion: API_VERSIONS[ref.kind] ?? "networking.k8s.io/v1",
      kind: ref.kind,
      metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) },
    };
    await this.#api("n1", "/v1/policies/delete", JSON.stringify(doc));
    this.#policies.delete(`${ref.kind}/${ref.namespace ?? ""}/${ref.name}`);
  }

  /**
   * Every node has caught up with the store (policy revision, the same endpoints and
   * identities everywhere) and has had nothing to compute for two polls in a row.
   */
  async settle(): Promise<void> {
    const deadline = Date.now() + 20_000;
    let last = "";
    let stable = 0;
    while (Date.now() < deadline) {
      const views = await Promise.all([...this.#lab.nodes.values()].map(async (n) => {
        using client = new ApiClient({ socket: n.socket });
        const p = await client.json<
          { revision: number; storeRevision: number; pending: boolean; computations: number }
        >(
          "GET",
          "/v1/policies",
        );
        const e = await client.json<
          { endpoints: Array<{ node: string; id: number; identity: number }> }
        >(
          "GET",
          "/v1/endpoints",
        );
        return {
          p,
          eps: e.endpoints.map((x) => `${x.node}/${x.id}=${x.identity}`).sort().join(","),
        };
      }));
      const caughtUp = views.every((v) => !v.p.pending && v.p.revision >= v.p.storeRevision) &&
        views.every((v) => v.eps === views[0]!.eps);
      const now = JSON.stringify(views.map((v) => [v.p.computations, v.eps]));
      stable = caughtUp && now === last ? stable + 1 : 0;
      last = now;
      if (stable >= 2) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("The cluster did not settle within 20 s");
  }

  async probe(from: string, to: string, probe: ProbeSpec, timeoutMs: number): Promise<boolean> {
    const src = this.#targets.get(from);
    const dst = this.#targets.get(to);
    if (!src || !dst) throw new Error(`Unknown probe endpoint ${!src ? from : to}`);
    const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
    if (probe.protocol === "ICMP") {
      const r = await inNs(src.ns, ["ping", "-n", "-q", "-c", "1", "-W", String(seconds), dst.ip], {
        allowFail: true,
        timeoutMs: timeoutMs + 3000,
      });
      return r.code === 0;
    }
    const r = await inNs(src.ns, [
      RR_BIN,
      "client",
      "--host",
      dst.ip,
      "--port",
      String(probe.port),
      "--mode",
      "probe",
      "--count",
      "1",
      "--timeout-ms",
      String(timeoutMs),
      ...(probe.protocol === "UDP" ? ["--udp"] : probe.protocol === "SCTP" ? ["--sctp"] : []),
    ], { allowFail: true, timeoutMs: timeoutMs + 5000 });
    try {
      return (JSON.parse(r.stdout) as { ok: number }).ok === 1;
    } catch {
      return false;
    }
  }

  async reset(): Promise<void> {
    await Promise.all(this.#servers.splice(0).map((s) => s.stop()));
    for (const key of [...this.#lab.pods.byKey.keys()]) await this.#lab.pods.delete(key);
    for (const key of this.#policies.keys()) {
      const [kind, namespace, name] = key.split("/");
      await this.delete({ kind: kind!, ...(namespace ? { namespace } : {}), name: name! });
    }
    for (const key of this.#etcdKeys) await this.#etcd(["del", key]);
    this.#etcdKeys.clear();
    for (const ip of this.#extraIps.splice(0)) {
      await inNs(this.#lab.external.ns, ["ip", "addr", "del", `${ip}/32`, "dev", "lo"], {
        allowFail: true,
      });
    }
    this.#targets.clear();
    this.#namedPorts.clear();
    await this.settle();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.#servers.splice(0).map((s) => s.stop()));
    await this.#lab.destroy();
  }
}

export async function createLabCluster(
  opts: { nodes: number },
): Promise<ConformanceCluster & AsyncDisposable> {
  return await LabCluster.create(opts);
}
