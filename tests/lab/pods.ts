// Pods in a lab: a network namespace per pod, wired by the real hypha CNI plugin, executed the
// way a container runtime executes it (environment and stdin, inside the node's namespace) by
// core/cni/cnitool.ts. Pod namespaces are the lab's (`hl-<id>-p<n>`), so destroying the lab
// removes them with everything in them.
import { join } from "node:path";
import { CniTool } from "../../core/cni/cnitool.ts";
import type { Lab } from "./lab.ts";
import { createPodCgroup } from "./cgroup.ts";
import { inNs, run } from "./netns.ts";

const REPO = join(import.meta.dirname!, "../..");
/** The CNI plugin as the lab runs it (the compiled executable behaves the same). */
export const CNI_PLUGIN = [Deno.execPath(), "run", "-A", join(REPO, "core/cni/main.ts")];

export interface PodOptions {
  labels?: Record<string, string>;
  /** Host ports the "runtime" maps to the pod (CNI runtimeConfig.portMappings). */
  portMappings?: Array<{ hostPort: number; containerPort: number; protocol?: string }>;
  /** Extra network-config fields (e.g. to test bad input). */
  conf?: Record<string, unknown>;
}

export interface LabPod {
  /** "namespace/name" */
  key: string;
  node: string;
  /** The pod's network namespace name and path. */
  ns: string;
  netns: string;
  containerId: string;
  ip: string;
  ips: string[];
  result: unknown;
}

export class PodError extends Error {
  override name = "PodError";
  constructor(message: string, readonly cni?: { code: number; msg: string; details?: string }) {
    super(message);
  }
}

export class Pods {
  readonly #lab: Lab;
  readonly byKey = new Map<string, LabPod>();
  #seq = 0;

  constructor(lab: Lab) {
    this.#lab = lab;
  }

  /** The network configuration the node's runtime hands the plugin. */
  conf(node: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      cniVersion: "1.0.0",
      name: "hypha",
      type: "hypha",
      agentSocket: this.#lab.node(node).socket,
      agentWaitSeconds: 30,
      ...extra,
    };
  }

  /** A CniTool that runs the plugin inside the node's namespace. */
  tool(node: string, timeoutMs = 60_000): CniTool {
    return new CniTool({
      plugin: ["ip", "netns", "exec", this.#lab.node(node).ns, ...CNI_PLUGIN],
      timeoutMs,
    });
  }

  /** A fresh pod namespace (no interface but lo). */
  async createNetns(): Promise<{ ns: string; netns: string }> {
    const ns = `hl-${this.#lab.id}-p${++this.#seq}`;
    await run(["ip", "netns", "add", ns]);
    return { ns, netns: `/var/run/netns/${ns}` };
  }

  async add(node: string, key: string, opts: PodOptions = {}): Promise<LabPod> {
    const [namespace, name] = key.includes("/") ? key.split("/", 2) : ["default", key];
    const { ns, netns } = await this.createNetns();
    createPodCgroup(this.#lab.id, node, ns);
    const containerId = `${this.#lab.id}c${ns.slice(ns.lastIndexOf("-") + 2).padStart(7, "0")}`;
    const r = await this.tool(node).add(
      this.conf(node, {
        ...(opts.labels ? { labels: opts.labels } : {}),
        ...(opts.portMappings
          ? {
            capabilities: { portMappings: true },
            runtimeConfig: { portMappings: opts.portMappings },
          }
          : {}),
        ...opts.conf,
      }),
      {
        containerId,
        netns,
        ifname: "eth0",
        args: { K8S_POD_NAMESPACE: namespace!, K8S_POD_NAME: name!, IgnoreUnknown: "1" },
      },
    );
    if (r.exitCode !== 0) {
      await run(["ip", "netns", "del", ns], { allowFail: true });
      const err = r.json as { code: number; msg: string; details?: string } | undefined;
      throw new PodError(
        `CNI ADD of pod ${key} on ${node} failed: ${err?.msg ?? r.stdout}${
          err?.details ? ` (${err.details})` : ""
        }`,
        err,
      );
    }
    const result = r.json as { ips: Array<{ address: string }> };
    const ips = result.ips.map((i) => i.address.split("/")[0]!);
    const pod: LabPod = { key, node, ns, netns, containerId, ip: ips[0]!, ips, result };
    this.byKey.set(key, pod);
    return pod;
  }

  get(key: string): LabPod {
    const p = this.byKey.get(key);
    if (!p) throw new Error(`Lab has no pod "${key}"`);
    return p;
  }

  /** CNI DEL, then the namespace goes (as a runtime tears a pod down). */
  async delete(key: string, opts: { keepNetns?: boolean } = {}): Promise<void> {
    const pod = this.get(key);
    const r = await this.tool(pod.node).del(this.conf(pod.node), {
      containerId: pod.containerId,
      netns: pod.netns,
      ifname: "eth0",
    });
    if (r.exitCode !== 0) throw new PodError(`CNI DEL of pod ${key} failed: ${r.stdout}`);
    if (!opts.keepNetns) await run(["ip", "netns", "del", pod.ns], { allowFail: true });
    this.byKey.delete(key);
  }

  /** Runs a command inside a pod's namespace. */
  exec(key: string, cmd: string[], opts: { allowFail?: boolean; timeoutMs?: number } = {}) {
    return inNs(this.get(key).ns, cmd, opts);
  }
}
