// kube-proxy in a lab namespace, the baseline of the load-balancing benchmarks: ClusterIP
// services over backends (typically BPF-free pods from bench/pod_network/baseline_pods.ts), loaded
// with either kube-proxy design in one restore, timed, and removed again. Only the namespace it is
// given is touched. The node can be a lab node's namespace or a baseline node of its own
// (baselineNode(): a BPF-free namespace with BPF-free pods, so kube-proxy's rules and hypha's
// programs never see each other's packets). Backends from baseline pods:
//
//   const pods = [await baselinePod(lab, "n1", 0, 1), await baselinePod(lab, "n1", 0, 2)];
//   const services = baselineServices(1000, pods.map((p) => ({ ip: p.ip, port: 7100 })));
//   await using kp = await installKubeProxy(lab.node("n1").ns, "iptables", services, {
//     clusterCIDR: BASELINE_POD_CIDR,
//   });
import { type BaselinePod, wireBaselinePod } from "../pod_network/baseline_pods.ts";
import type { Lab } from "../../tests/lab/lab.ts";
import { inNs, ip, run } from "../../tests/lab/netns.ts";
import type { BaselineEndpoint, BaselineService } from "./baseline_service.ts";
import { iptablesEmptyNat, iptablesRules } from "./kube_proxy_iptables.ts";
import { NFT_TABLE, nftRemoveRules, nftRules } from "./kube_proxy_nftables.ts";

export type KubeProxyDesign = "iptables" | "nftables";

/** The range baselinePod() addresses pods from (10.250.<node>.<index>). */
export const BASELINE_POD_CIDR = "10.250.0.0/16";

/** Where baselineServices() takes ClusterIPs from: 10.96.0.1, 10.96.0.2, ... */
export const SERVICE_CIDR = "10.96.0.0/12";

export interface KubeProxyOptions {
  /** Masquerade service traffic from outside this pod CIDR (kube-proxy's --cluster-cidr). */
  clusterCIDR?: string;
  /** Bound on one restore (default 120 s). */
  timeoutMs?: number;
}

export interface KubeProxyInstall extends AsyncDisposable {
  design: KubeProxyDesign;
  ns: string;
  /** What loaded the rules, e.g. "iptables-legacy-restore: iptables-restore v1.8.9 (legacy)". */
  tool: string;
  services: BaselineService[];
  /** Wall time of the one restore (process start, parse, kernel commit). */
  loadMs: number;
  /** Removes the rules; safe to call twice. */
  remove(): Promise<void>;
}

/**
 * `count` TCP services `default/svc-<i>` on port `port`, ClusterIPs counting up from 10.96.0.1,
 * each over `perService` of `backends` (service i starts at backend i, wrapping around).
 */
export function baselineServices(
  count: number,
  backends: readonly BaselineEndpoint[],
  opts: { perService?: number; port?: number } = {},
): BaselineService[] {
  const perService = opts.perService ?? 2;
  if (backends.length < perService) {
    throw new Error(`Baseline services: ${perService} backends each, but only ${backends.length}`);
  }
  if (count > 0xfffff - 1) throw new Error(`Baseline services: ${count} do not fit in 10.96/12`);
  return Array.from({ length: count }, (_, i) => {
    const k = i + 1;
    return {
      name: `svc-${i}`,
      namespace: "default",
      clusterIP: `10.${96 + (k >> 16)}.${(k >> 8) & 255}.${k & 255}`,
      port: opts.port ?? 80,
      protocol: "TCP" as const,
      endpoints: Array.from({ length: perService }, (_, j) => backends[(i + j) % backends.length]!),
    };
  });
}

/** Backends for baselineServices() from baseline pods that serve on `port`. */
export function podBackends(pods: readonly BaselinePod[], port: number): BaselineEndpoint[] {
  return pods.map((p) => ({ ip: p.ip, port }));
}

async function onPath(bin: string): Promise<boolean> {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
    try {
      if ((await Deno.stat(`${dir}/${bin}`)).isFile) return true;
    } catch {
      // not here
    }
  }
  return false;
}

interface Tools {
  /** Takes the rules file as its last argument. */
  restore: string[];
  /** Prints the rules in place. */
  save: string[];
  /** The restore command and its version, e.g. "iptables-legacy-restore: ... (legacy)". */
  describe(): Promise<string>;
}

/** For iptables the classic linear-evaluation backend (legacy) when installed, else the default. */
async function tools(design: KubeProxyDesign): Promise<Tools> {
  const candidates = design === "nftables"
    ? [{ bin: "nft", save: ["nft", "list", "table", ...NFT_TABLE.split(" ")], pkg: "nftables" }]
    : [
      { bin: "iptables-legacy-restore", save: ["iptables-legacy-save", "-t", "nat"], pkg: "" },
      { bin: "iptables-restore", save: ["iptables-save", "-t", "nat"], pkg: "iptables" },
    ];
  for (const c of candidates) {
    if (!await onPath(c.bin)) continue;
    return {
      // iptables -w: the xtables lock is machine-wide; wait for it rather than fail.
      restore: design === "nftables" ? ["nft", "-f"] : [c.bin, "-w", "60"],
      save: c.save,
      describe: async () => `${c.bin}: ${(await run([c.bin, "--version"])).stdout.trim()}`,
    };
  }
  const last = candidates.at(-1)!;
  throw new Error(
    `kube-proxy's ${design} baseline: "${last.bin}" is not installed: ` +
      `install the Debian package "${last.pkg}" (scripts/setup.sh)`,
  );
}

/** Runs `restore <file>` in `ns` with `text` in the file; returns the wall time in milliseconds. */
async function load(ns: string, restore: string[], text: string, timeoutMs: number) {
  const file = await Deno.makeTempFile({ prefix: "hypha-kube-proxy-" });
  try {
    await Deno.writeTextFile(file, text);
    const t0 = performance.now();
    await run(["ip", "netns", "exec", ns, ...restore, file], { timeoutMs });
    return performance.now() - t0;
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

/** The design's rules in `ns` as its save/list tool prints them; "" when there are none. */
export async function kubeProxyRules(ns: string, design: KubeProxyDesign): Promise<string> {
  const r = await inNs(ns, (await tools(design)).save, { allowFail: true, timeoutMs: 60_000 });
  return r.code === 0 ? r.stdout : "";
}

/** Removes what installKubeProxy() loaded in `ns` (also after a crash). For iptables this
 * empties the namespace's nat table. */
export async function removeKubeProxy(ns: string, design: KubeProxyDesign): Promise<void> {
  const text = design === "nftables" ? nftRemoveRules() : iptablesEmptyNat();
  await load(ns, (await tools(design)).restore, text, 60_000);
}

/** Loads `services` into `ns` with one restore of the generated rules. */
export async function installKubeProxy(
  ns: string,
  design: KubeProxyDesign,
  services: BaselineService[],
  opts: KubeProxyOptions = {},
): Promise<KubeProxyInstall> {
  const gen = opts.clusterCIDR === undefined ? {} : { clusterCIDR: opts.clusterCIDR };
  const text = design === "nftables" ? nftRules(services, gen) : iptablesRules(services, gen);
  const t = await tools(design);
  const loadMs = await load(ns, t.restore, text, opts.timeoutMs ?? 120_000);
  const tool = await t.describe();
  let removed: Promise<void> | undefined;
  const remove = () => removed ??= removeKubeProxy(ns, design);
  return { design, ns, tool, services, loadMs, remove, [Symbol.asyncDispose]: remove };
}

/** A node namespace without hypha: no agent, no BPF, not in any lab cgroup. */
export interface BaselineNode {
  name: string;
  ns: string;
  /** Its address on the lab's underlay (br0), when plugged in. */
  ip?: string;
}

/**
 * Node namespace `hl-<lab>-<name>` (so destroying the lab removes it), forwarding on; with
 * `address`, plugged into the lab's underlay bridge as `eth0` (`address`/24), where the external
 * namespace and the lab's nodes reach it. `name`: 1-10 lowercase letters and digits.
 */
export async function baselineNode(
  lab: Lab,
  name: string,
  opts: { address?: string } = {},
): Promise<BaselineNode> {
  if (!/^[a-z0-9]{1,10}$/.test(name)) {
    throw new Error(`Baseline node name "${name}" must be 1-10 lowercase letters/digits`);
  }
  const ns = `hl-${lab.id}-${name}`;
  await run(["ip", "netns", "add", ns]);
  await ip(ns, "link", "set", "lo", "up");
  await run(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
  if (opts.address === undefined) return { name, ns };
  await lab.plug(ns, {
    bridge: "br0",
    port: `h${lab.id}${name}`,
    ifname: "eth0",
    address: opts.address,
  });
  return { name, ns, ip: opts.address };
}

/**
 * Pod `index` (1-254) of a baseline node, addressed 10.250.<subnet>.<index>/32: a plain veth
 * pair, a /32 host route in the node, the node as default gateway (as baselinePod() wires them).
 */
export async function baselineNodePod(
  lab: Lab,
  node: BaselineNode,
  subnet: number,
  index: number,
): Promise<BaselinePod> {
  const ns = `hl-${lab.id}-${node.name}p${index}`;
  const host = `${node.name.slice(0, 8)}x${index}`;
  const address = `10.250.${subnet}.${index}`;
  await wireBaselinePod(node.ns, ns, host, address);
  return { ns, ip: address };
}

/** Routes 10.250.<subnet>.0/24 (`to`'s pods) from `from` via `to`'s underlay address. */
export async function routeBaselinePods(
  from: BaselineNode,
  to: BaselineNode,
  subnet: number,
): Promise<void> {
  if (!to.ip) throw new Error(`Baseline node "${to.name}" is not on the underlay`);
  await ip(from.ns, "route", "replace", `10.250.${subnet}.0/24`, "via", to.ip, "dev", "eth0");
}
