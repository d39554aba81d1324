// The node's network devices in the agent's network namespace, read from sysfs.
import { listIfnames, readSysNumber } from "../netlink/sysfs.ts";

export interface Device {
  name: string;
  ifindex: number;
}

export function listDevices(): Device[] {
  return listIfnames().map((name) => ({ name, ifindex: readSysNumber(name, "ifindex") }))
    .filter((d) => d.ifindex > 0) // vanished while listing
    .sort((a, b) => a.ifindex - b.ifindex);
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
