// Interfaces as sysfs shows them in the caller's network namespace: cheap reads, no process to
// spawn. (Inside `ip netns exec`, /sys is the namespace's own.)
const SYS_NET = "/sys/class/net";

/** A numeric attribute (ifindex, mtu, ...); 0 when the interface or attribute is missing. */
export function readSysNumber(ifname: string, attr: string): number {
  try {
    return Number(Deno.readTextFileSync(`${SYS_NET}/${ifname}/${attr}`).trim()) || 0;
  } catch {
    return 0;
  }
}

/** The interface's ifindex; throws when it has none (it does not exist). */
export function readIfindex(ifname: string): number {
  const n = readSysNumber(ifname, "ifindex");
  if (!n) throw new Error(`Interface "${ifname}" has no ifindex`);
  return n;
}

/** The MAC address as 6 bytes; zeros when unknown. */
export function readMac(ifname: string): Uint8Array {
  try {
    const text = Deno.readTextFileSync(`${SYS_NET}/${ifname}/address`).trim();
    const bytes = text.split(":").map((h) => parseInt(h, 16));
    return bytes.length === 6 && bytes.every((b) => b >= 0)
      ? new Uint8Array(bytes)
      : new Uint8Array(6);
  } catch {
    return new Uint8Array(6);
  }
}

export function existsIfname(ifname: string): boolean {
  try {
    Deno.statSync(`${SYS_NET}/${ifname}`);
    return true;
  } catch {
    return false;
  }
}

export function listIfnames(): string[] {
  return [...Deno.readDirSync(SYS_NET)].map((e) => e.name);
}

/** The interface's alias (IFLA_IFALIAS), "" when it has none or is missing. */
export function readIfalias(ifname: string): string {
  try {
    return Deno.readTextFileSync(`${SYS_NET}/${ifname}/ifalias`).replace(/\n$/, "");
  } catch {
    return "";
  }
}

/** Sets the interface's alias (at most 255 bytes; the kernel keeps it with the device). */
export function writeIfalias(ifname: string, alias: string): void {
  Deno.writeTextFileSync(`${SYS_NET}/${ifname}/ifalias`, alias);
}
