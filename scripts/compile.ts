// Builds the single hypha executable for bare-metal nodes: `deno compile` of main.ts with the
// compiled eBPF objects embedded (core/assets.ts reads them from the same relative path).
//
// `deno compile` needs Deno's `denort` runtime. It downloads it unless DENORT_BIN points to a local
// copy; on a machine without internet it cannot, and this task says so in one line.
import { join } from "node:path";

const root = join(import.meta.dirname!, "..");
const out = join(root, "dist/hypha");

const build = await new Deno.Command(Deno.execPath(), {
  args: ["task", "-q", "build:bpf"],
  cwd: root,
}).output();
if (!build.success) {
  console.error("compile: building the eBPF objects failed (run `deno task build:bpf`)");
  Deno.exit(1);
}

const result = await new Deno.Command(Deno.execPath(), {
  args: [
    "compile",
    "--allow-all",
    "--include",
    "bpf/build",
    "--exclude",
    "bpf/build/tests",
    "--exclude",
    "bpf/build/testdata",
    "--output",
    out,
    "main.ts",
  ],
  cwd: root,
  stdout: "piped",
  stderr: "piped",
}).output();
const stderr = new TextDecoder().decode(result.stderr);
if (!result.success) {
  if (/dns error|failed to lookup|error sending request|dl\.deno\.land|denort/i.test(stderr)) {
    console.error(
      "compile: deno compile cannot fetch its denort runtime (no internet here); " +
        "set DENORT_BIN to a local denort binary of the same Deno version to build offline",
    );
  } else {
    // deno's own output has colour codes and a backtrace; keep the first error lines.
    // deno-lint-ignore no-control-regex
    const plain = stderr.replace(/\x1b\[[0-9;]*m/g, "").split("\n");
    const errors = plain.filter((l) => /error/i.test(l)).slice(0, 2).map((l) => l.trim());
    console.error(`compile: deno compile failed: ${errors.join("; ") || plain[0]}`);
  }
  Deno.exit(1);
}
console.log(`compile: wrote ${out}`);
