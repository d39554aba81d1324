// A container runtime's side of the CNI contract, for tests where the agent dies mid-call: an
// ADD that fails is followed by a DEL (as containerd and CRI-O do), and a DEL is retried until it
// succeeds. Pods are namespaces of the lab (`hl-<id>-p<n>`), so the lab removes leftovers.
import { createPodCgroup } from "./cgroup.ts";
import type { Lab } from "./lab.ts";
import { run } from "./netns.ts";

export interface RuntimePod {
  key: string;
  ns: string;
  netns: string;
  containerId: string;
  ip: string;
}

const DEL_ATTEMPTS = 3;

export class Runtime {
  constructor(readonly lab: Lab, readonly node: string) {}

  /** ADD a pod; on failure DEL it, remove its namespace and return undefined. */
  async add(key: string, labels: Record<string, string> = {}): Promise<RuntimePod | undefined> {
    const [namespace, name] = key.split("/", 2) as [string, string];
    const { ns, netns } = await this.lab.pods.createNetns();
    createPodCgroup(this.lab.id, this.node, ns);
    const containerId = `${this.lab.id}r${ns.slice(ns.lastIndexOf("-") + 2).padStart(7, "0")}`;
    const r = await this.lab.pods.tool(this.node).add(this.lab.pods.conf(this.node, { labels }), {
      containerId,
      netns,
      ifname: "eth0",
      args: { K8S_POD_NAMESPACE: namespace, K8S_POD_NAME: name, IgnoreUnknown: "1" },
    });
    const ip = (r.json as { ips?: Array<{ address: string }> } | undefined)?.ips?.[0]?.address;
    const pod = { key, ns, netns, containerId, ip: ip?.split("/")[0] ?? "" };
    if (r.exitCode === 0 && pod.ip) return pod;
    await this.del(pod);
    return undefined;
  }

  /** DEL (retried: the agent may be restarting), then the namespace goes. */
  async del(pod: RuntimePod): Promise<void> {
    let last = "";
    for (let i = 0; i < DEL_ATTEMPTS; i++) {
      const r = await this.lab.pods.tool(this.node).del(this.lab.pods.conf(this.node), {
        containerId: pod.containerId,
        netns: pod.netns,
        ifname: "eth0",
      });
      if (r.exitCode === 0) {
        await run(["ip", "netns", "del", pod.ns], { allowFail: true });
        return;
      }
      last = r.stdout;
    }
    throw new Error(`CNI DEL of ${pod.key} failed ${DEL_ATTEMPTS} times: ${last}`);
  }
}
