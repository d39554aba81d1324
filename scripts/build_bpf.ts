// Builds every eBPF object from C with clang: bpf/*.c (datapath entry points), bpf/tests/*.c
// (datapath unit tests), bpf/bench/*.c (benchmark sources) and core/bpf/testdata/*.c (binding
// test fixtures) into bpf/build/.
// Rebuilds an object only when its source or any header is newer.
import { join, relative } from "node:path";

const root = join(import.meta.dirname!, "..");
const outRoot = join(root, "bpf/build");

export const CFLAGS = [
  "-O2",
  "-g",
  "-Wall",
  "-Werror",
  "-target",
  "bpf",
  "-D__TARGET_ARCH_x86",
  "-I",
  join(root, "bpf/lib"),
  "-I",
  join(root, "bpf"),
  "-I",
  "/usr/include/x86_64-linux-gnu",
];

const SOURCES: Array<{ dir: string; out: string }> = [
  { dir: "bpf", out: "" },
  { dir: "bpf/tests", out: "tests" },
  { dir: "bpf/bench", out: "bench" },
  { dir: "core/bpf/testdata", out: "testdata" },
];

async function mtime(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).mtime?.getTime() ?? 0;
  } catch {
    return 0;
  }
}

async function newestHeader(): Promise<number> {
  let newest = 0;
  for (const dir of ["bpf/lib", "bpf/tests/lib"]) {
    try {
      for await (const e of Deno.readDir(join(root, dir))) {
        if (e.isFile && e.name.endsWith(".h")) {
          newest = Math.max(newest, await mtime(join(root, dir, e.name)));
        }
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  return newest;
}

async function build(): Promise<number> {
  const headers = await newestHeader();
  let failed = 0;
  for (const { dir, out } of SOURCES) {
    let entries: Deno.DirEntry[] = [];
    try {
      entries = await Array.fromAsync(Deno.readDir(join(root, dir)));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) continue;
      throw err;
    }
    const outDir = join(outRoot, out);
    await Deno.mkdir(outDir, { recursive: true });
    const sources = entries.filter((e) => e.isFile && e.name.endsWith(".c"));
    for (const e of sources.sort((a, b) => a.name.localeCompare(b.name))) {
      const src = join(root, dir, e.name);
      const obj = join(outDir, e.name.replace(/\.c$/, ".o"));
      const objTime = await mtime(obj);
      if (objTime > 0 && objTime >= Math.max(await mtime(src), headers)) continue;
      const cmd = new Deno.Command("clang", {
        args: [...CFLAGS, "-c", src, "-o", obj],
        stdout: "inherit",
        stderr: "inherit",
      });
      const { code } = await cmd.output();
      if (code !== 0) {
        failed++;
        console.error(`build-bpf: clang failed for ${relative(root, src)}`);
        await Deno.remove(obj).catch(() => {});
      } else {
        console.log(`build-bpf: ${relative(root, src)} -> ${relative(root, obj)}`);
      }
    }
  }
  return failed;
}

if (import.meta.main) {
  Deno.exit((await build()) > 0 ? 1 : 0);
}
