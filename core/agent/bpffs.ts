// The BPF filesystem: pins live there. The agent mounts it when the node has not (as Cilium does),
// so pinned maps and links survive agent restarts.
import { bpffsMounts } from "../bpf/mod.ts";

export async function ensureBpffs(path: string): Promise<"mounted" | "present"> {
  if (bpffsMounts().includes(path)) return "present";
  await Deno.mkdir(path, { recursive: true });
  const out = await new Deno.Command("mount", {
    args: ["-t", "bpf", "bpf", path],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `Cannot mount bpffs at "${path}": ${new TextDecoder().decode(out.stderr).trim()} ` +
        "(run as root, or mount it: mount -t bpf bpf " + path + ")",
    );
  }
  return "mounted";
}
