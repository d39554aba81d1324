// Kernel settings of the agent's network namespace (/proc/sys/net is per namespace).

/** Writes `value` to /proc/sys/<path> when it differs; returns whether it wrote. */
export async function ensureSysctl(path: string, value: string): Promise<boolean> {
  const file = `/proc/sys/${path.replaceAll(".", "/")}`;
  let current: string;
  try {
    current = (await Deno.readTextFile(file)).trim();
  } catch (err) {
    throw new Error(`Cannot read sysctl "${path}": ${(err as Error).message}`);
  }
  if (current === value) return false;
  try {
    await Deno.writeTextFile(file, value);
  } catch (err) {
    throw new Error(`Cannot set sysctl "${path}" to "${value}": ${(err as Error).message}`);
  }
  return true;
}
