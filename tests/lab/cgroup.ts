// The lab's cgroup v2 subtrees: every lab node has one (`hypha-lab/<lab>/<node>` in the cgroup
// v2 hierarchy), its agent attaches the socket hooks there (datapath.cgroupRoot), and every
// process the lab runs in the node's namespace (`host/`) or in one of its pods (`pods/<netns>/`)
// joins it. So socket load balancing sees exactly the node's workloads, never the machine's
// other processes. The hierarchy is mounted (once, shared by all labs) at CGROUP_MOUNT, outside
// /sys: `ip netns exec` remounts /sys, which hides /sys/fs/cgroup from the agents. The layout is
// the registry: a namespace's cgroup is found by its name, also by another process (`lab up`
// leaves the lab running for the CLI).
import { existsSync } from "node:fs";
import { join } from "node:path";

const LAB_PREFIX = "hl-";
export const CGROUP_MOUNT = "/run/hypha-lab/cgroup2";

function mounted(): boolean {
  try {
    return Deno.readTextFileSync("/proc/mounts").split("\n").some((l) => {
      const [, path, type] = l.split(" ");
      return path === CGROUP_MOUNT && type === "cgroup2";
    });
  } catch {
    return false;
  }
}

/** Mounts the cgroup v2 hierarchy for the lab (idempotent). */
export async function ensureCgroupMount(): Promise<void> {
  if (mounted()) return;
  await Deno.mkdir(CGROUP_MOUNT, { recursive: true });
  const out = await new Deno.Command("mount", {
    args: ["-t", "cgroup2", "cgroup2", CGROUP_MOUNT],
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `The lab needs cgroup v2 for socket hooks: mount -t cgroup2 at ${CGROUP_MOUNT} failed: ${
        new TextDecoder().decode(out.stderr).trim()
      }`,
    );
  }
}

function root(): string {
  return join(CGROUP_MOUNT, "hypha-lab");
}

export function labCgroup(lab: string): string {
  return join(root(), lab);
}

/** The node's subtree: its agent's cgroupRoot. */
export function nodeCgroup(lab: string, node: string): string {
  return join(labCgroup(lab), node);
}

export function createNodeCgroup(lab: string, node: string): string {
  const dir = nodeCgroup(lab, node);
  Deno.mkdirSync(join(dir, "host"), { recursive: true });
  Deno.mkdirSync(join(dir, "pods"), { recursive: true });
  return dir;
}

export function createPodCgroup(lab: string, node: string, netns: string): string {
  const dir = join(nodeCgroup(lab, node), "pods", netns);
  Deno.mkdirSync(dir, { recursive: true });
  return dir;
}

/** The cgroup a command run in lab namespace `ns` joins, if any (pods and nodes have one). */
export function cgroupOfNs(ns: string): string | undefined {
  const m = /^hl-([0-9a-f]{4})-(.+)$/.exec(ns);
  if (!m || !mounted()) return undefined;
  const [, lab, rest] = m;
  const labDir = labCgroup(lab!);
  if (!existsSync(labDir)) return undefined;
  const nodeHost = join(labDir, rest!, "host");
  if (existsSync(nodeHost)) return nodeHost;
  for (const e of Deno.readDirSync(labDir)) {
    const pod = join(labDir, e.name, "pods", ns);
    if (e.isDirectory && existsSync(pod)) return pod;
  }
  return undefined;
}

/** Removes a lab's cgroups, deepest first (a cgroup goes only without processes). */
export function removeLabCgroups(lab: string): void {
  const dir = labCgroup(lab);
  const remove = (path: string) => {
    if (!existsSync(path)) return;
    for (const e of Deno.readDirSync(path)) if (e.isDirectory) remove(join(path, e.name));
    try {
      Deno.removeSync(path);
    } catch {
      // still has a process (it is being killed): left for the next cleanup
    }
  };
  remove(dir);
}

/** The argv that runs `cmd` in network namespace `ns` and, for lab namespaces, its cgroup. */
export function nsArgv(ns: string, cmd: string[]): string[] {
  const cgroup = ns.startsWith(LAB_PREFIX) ? cgroupOfNs(ns) : undefined;
  if (!cgroup) return ["ip", "netns", "exec", ns, ...cmd];
  // sh joins the cgroup and execs `ip netns exec`, which execs the command: the pid stays the
  // command's. (Inside `ip netns exec` the cgroup mount is gone: it remounts /sys.)
  return [
    "sh",
    "-c",
    'echo $$ > "$0/cgroup.procs" && exec "$@"',
    cgroup,
    "ip",
    "netns",
    "exec",
    ns,
    ...cmd,
  ];
}
