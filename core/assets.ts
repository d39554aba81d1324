// Assets shipped with hypha (compiled eBPF objects). Resolved relative to this module, so the same
// path works from the source tree and from the `deno compile` executable, which embeds bpf/build
// (see scripts/compile.ts).
import { join } from "node:path";

const BPF_BUILD = join(import.meta.dirname!, "../bpf/build");

export class AssetError extends Error {
  override name = "AssetError";
}

/** Bytes of a compiled eBPF object, e.g. `bpfObject("bpf_host")`. */
export function bpfObjectBytes(name: string): Uint8Array {
  const path = bpfObjectPath(name);
  try {
    return Deno.readFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new AssetError(
        `eBPF object "${name}.o" is missing at ${path}: run \`deno task build:bpf\``,
      );
    }
    throw err;
  }
}

export function bpfObjectPath(name: string): string {
  return join(BPF_BUILD, `${name}.o`);
}
