// The node's network devices in the agent's network namespace, read from sysfs.
import { join } from "node:path";

export interface Device {
  name: string;
  ifindex: number;
}

const SYS_NET = "/sys/class/net";

export function listDevices(): Device[] {
  const out: Device[] = [];
  for (const e of Deno.readDirSync(SYS_NET)) {
    try {
      const ifindex = Number(Deno.readTextFileSync(join(SYS_NET, e.name, "ifindex")).trim());
      out.push({ name: e.name, ifindex });
    } catch {
      // vanished while listing
    }
  }
  return out.sort((a, b) => a.ifindex - b.ifindex);
}

/**
 * The devices the datapath attaches to: the configured names (each must exist), or every
 * non-loopback device when none are configured.
 */
export function selectDevices(configured: string[]): { devices: Device[]; missing: string[] } {
  const all = listDevices();
  if (configured.length === 0) return { devices: all.filter((d) => d.name !== "lo"), missing: [] };
  const byName = new Map(all.map((d) => [d.name, d]));
  const devices: Device[] = [];
  const missing: string[] = [];
  for (const name of configured) {
    const d = byName.get(name);
    d ? devices.push(d) : missing.push(name);
  }
  return { devices, missing };
}
