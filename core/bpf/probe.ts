// Kernel feature probe: which datapath features this kernel offers, and what is missing.
// Probes never attach anything to a live interface.
import { existsSync, readFileSync } from "node:fs";
import { closeFd, cstr, lib } from "./_libbpf.ts";

export interface Feature {
  name: string;
  available: boolean;
  detail: string;
}

export interface KernelFeatures {
  kernel: string;
  features: Feature[];
}

const PROG_TYPES = [
  ["tc programs (sched_cls)", 3, "CONFIG_NET_CLS_BPF / CONFIG_NET_SCH_INGRESS"],
  ["XDP programs", 6, "CONFIG_XDP_SOCKETS / XDP support"],
  ["cgroup socket address hooks", 18, "CONFIG_CGROUP_BPF"],
] as const;

const MAP_TYPES = [
  ["hash maps", 1],
  ["LRU hash maps (conntrack)", 9],
  ["LPM trie maps (ipcache)", 11],
  ["per-CPU hash maps (counters)", 5],
  ["ring buffers (events)", 27],
] as const;

const HELPERS = [
  ["bpf_redirect_peer (fast pod delivery)", 3, 155],
  ["bpf_skb_set_tunnel_key (VXLAN from BPF)", 3, 21],
  ["bpf_fib_lookup (host routing)", 3, 69],
] as const;

export function probeFeatures(): KernelFeatures {
  const b = lib().bpf;
  const features: Feature[] = [];
  const btf = existsSync("/sys/kernel/btf/vmlinux");
  features.push({
    name: "kernel BTF",
    available: btf,
    detail: btf ? "/sys/kernel/btf/vmlinux" : "missing: build with CONFIG_DEBUG_INFO_BTF=y",
  });
  for (const [name, type, config] of PROG_TYPES) {
    const ok = b.libbpf_probe_bpf_prog_type(type, null) === 1;
    features.push({ name, available: ok, detail: ok ? "supported" : `missing: ${config}` });
  }
  for (const [name, type] of MAP_TYPES) {
    const ok = b.libbpf_probe_bpf_map_type(type, null) === 1;
    features.push({ name, available: ok, detail: ok ? "supported" : "map type not supported" });
  }
  for (const [name, progType, helper] of HELPERS) {
    const ok = b.libbpf_probe_bpf_helper(progType, helper, null) === 1;
    features.push({ name, available: ok, detail: ok ? "supported" : "helper not available" });
  }
  features.push(probeTcx());
  features.push(probeCgroupV2());
  features.push(probeModule("wireguard", "in-kernel WireGuard", "CONFIG_WIREGUARD"));
  features.push(probeBpffs());
  return { kernel: Deno.osRelease(), features };
}

/** tcx: create a link on ifindex 0 — ENODEV means the attach type is known (Linux >= 6.6). */
function probeTcx(): Feature {
  const fd = loadTrivialProgram(3);
  if (fd < 0) return { name: "tcx links", available: false, detail: "cannot load a tc program" };
  try {
    const ret = lib().bpf.bpf_link_create(fd, 0, 46, null);
    if (ret >= 0) closeFd(ret);
    const ok = ret === -19 || ret >= 0;
    return {
      name: "tcx links",
      available: ok,
      detail: ok
        ? "supported (Linux >= 6.6)"
        : "missing: needs Linux >= 6.6; falling back to clsact",
    };
  } finally {
    closeFd(fd);
  }
}

function loadTrivialProgram(progType: number): number {
  // r0 = -1 (TC_ACT_UNSPEC / TCX_NEXT); exit
  const insns = new Uint8Array([
    0xb7,
    0x00,
    0x00,
    0x00,
    0xff,
    0xff,
    0xff,
    0xff,
    0x95,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
  ]);
  return lib().bpf.bpf_prog_load(progType, cstr("hypha_probe"), cstr("GPL"), insns, 2n, null);
}

/** Mount points of filesystems of type `fsType`, from /proc/mounts (none without /proc). */
function mountsOf(fsType: string): string[] {
  try {
    return readFileSync("/proc/mounts", "utf8").split("\n").map((l) => l.split(" "))
      .filter((f) => f[2] === fsType && f[1]).map((f) => f[1]!);
  } catch {
    return [];
  }
}

/** The cgroup v2 mount point (hybrid layouts mount it at /sys/fs/cgroup/unified). */
export function cgroupV2Mount(): string | undefined {
  return mountsOf("cgroup2")[0];
}

function probeCgroupV2(): Feature {
  const mount = cgroupV2Mount();
  return {
    name: "cgroup v2",
    available: mount !== undefined,
    detail: mount ? `mounted at ${mount}` : "not mounted: socket load balancing unavailable",
  };
}

function probeBpffs(): Feature {
  const mounted = bpffsMounts();
  return {
    name: "bpffs",
    available: mounted.length > 0,
    detail: mounted.length
      ? `mounted at ${mounted.join(", ")}`
      : "not mounted (the agent mounts it)",
  };
}

/** Mount points of bpf filesystems. */
export function bpffsMounts(): string[] {
  return mountsOf("bpf");
}

function probeModule(module: string, name: string, config: string): Feature {
  const loaded = existsSync(`/sys/module/${module}`);
  return {
    name,
    available: loaded,
    detail: loaded ? "available" : `missing: ${config} (userspace fallback where one exists)`,
  };
}
