// Temp files a killed writer left behind (`*.tmp`, see write.ts): removed when an agent starts,
// before anything reads or writes its state directory. They never hold the current state: a
// write only counts once its temp file is renamed over the target.
import { join } from "node:path";

/** Removes every `*.tmp` file under `dir` (recursively); returns their paths. */
export async function removeStaleTemps(dir: string): Promise<string[]> {
  const removed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return removed;
    throw err;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory) removed.push(...await removeStaleTemps(path));
    else if (e.isFile && e.name.endsWith(".tmp")) {
      await Deno.remove(path).catch((err) => {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      });
      removed.push(path);
    }
  }
  return removed;
}
