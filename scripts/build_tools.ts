// Builds the C test tools with gcc into tests/tools/build/: each tests/tools/<name>.c and each
// directory tests/tools/<name>/ (its *.c linked together, its *.h as dependencies) becomes the
// binary tests/tools/build/<name>. Rebuilds a tool only when one of its sources is newer.
import { join, relative } from "node:path";

const root = join(import.meta.dirname!, "..");
const toolsDir = join(root, "tests/tools");
export const TOOLS_BUILD_DIR = join(toolsDir, "build");

export const CFLAGS = ["-O2", "-g", "-Wall", "-Wextra", "-Werror", "-pthread"];

interface Tool {
  name: string;
  /** Compiled and linked. */
  sources: string[];
  /** Sources plus headers: any of them newer than the binary triggers a rebuild. */
  inputs: string[];
}

async function mtime(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).mtime?.getTime() ?? 0;
  } catch {
    return 0;
  }
}

async function findTools(): Promise<Tool[]> {
  const tools: Tool[] = [];
  for await (const e of Deno.readDir(toolsDir)) {
    if (e.isFile && e.name.endsWith(".c")) {
      const src = join(toolsDir, e.name);
      tools.push({ name: e.name.slice(0, -2), sources: [src], inputs: [src] });
    } else if (e.isDirectory && e.name !== "build") {
      const dir = join(toolsDir, e.name);
      const files = (await Array.fromAsync(Deno.readDir(dir)))
        .filter((f) => f.isFile && /\.[ch]$/.test(f.name))
        .map((f) => join(dir, f.name))
        .sort();
      const sources = files.filter((f) => f.endsWith(".c"));
      if (sources.length) tools.push({ name: e.name, sources, inputs: files });
    }
  }
  return tools.sort((a, b) => a.name.localeCompare(b.name));
}

/** Builds what is out of date; returns the number of tools that failed to build. */
export async function buildTools(): Promise<number> {
  await Deno.mkdir(TOOLS_BUILD_DIR, { recursive: true });
  let failed = 0;
  for (const tool of await findTools()) {
    const bin = join(TOOLS_BUILD_DIR, tool.name);
    const binTime = await mtime(bin);
    const newest = Math.max(...await Promise.all(tool.inputs.map(mtime)));
    if (binTime > 0 && binTime >= newest) continue;
    const { code } = await new Deno.Command("gcc", {
      args: [...CFLAGS, "-o", bin, ...tool.sources],
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (code !== 0) {
      failed++;
      console.error(`build-tools: gcc failed for ${tool.name}`);
      await Deno.remove(bin).catch(() => {});
    } else {
      const from = tool.sources.length === 1
        ? relative(root, tool.sources[0]!)
        : `${relative(root, join(toolsDir, tool.name))}/*.c`;
      console.log(`build-tools: ${from} -> ${relative(root, bin)}`);
    }
  }
  return failed;
}

if (import.meta.main) {
  Deno.exit((await buildTools()) > 0 ? 1 : 0);
}
