// Interfaces and namespaces as sysfs and the filesystem see them (no process to spawn).

export function readIfindex(ifname: string): number {
  const n = Number(Deno.readTextFileSync(`/sys/class/net/${ifname}/ifindex`).trim());
  if (!n) throw new Error(`Interface "${ifname}" has no ifindex`);
  return n;
}

export function existsIfname(ifname: string): boolean {
  try {
    Deno.statSync(`/sys/class/net/${ifname}`);
    return true;
  } catch {
    return false;
  }
}

export function existsPath(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
