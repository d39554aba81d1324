// Test helpers for code that needs real kernel objects: a private bpffs mount, a throwaway
// network namespace with a veth pair, and the fixture objects. Everything is removed on dispose.
import { join } from "node:path";

export const BUILD_DIR = join(import.meta.dirname!, "../../bpf/build");
export const fixturePath = (name: string) => join(BUILD_DIR, "testdata", `${name}.o`);

export async function run(cmd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** A private bpffs instance mounted on a temp dir. */
export async function tempBpffs(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "hypha-bpffs-" });
  await run("mount", "-t", "bpf", "bpf", path);
  return {
    path,
    async [Symbol.asyncDispose]() {
      await run("umount", path);
      await Deno.remove(path);
    },
  };
}

/**
 * Two network namespaces joined by a veth pair: `hb-<random>` holds a0 (10.200.0.1/24) and
 * `hb-<random>-p` holds a1 (10.200.0.2/24). The addresses exist only inside them.
 */
export async function tempNetns(): Promise<
  { name: string; path: string; peer: string; ping(count: number): Promise<void> } & AsyncDisposable
> {
  const name = `hb-${crypto.randomUUID().slice(0, 8)}`;
  const peer = `${name}-p`;
  const cleanup = async () => {
    await run("ip", "netns", "del", name).catch(() => {});
    await run("ip", "netns", "del", peer).catch(() => {});
  };
  try {
    await run("ip", "netns", "add", name);
    await run("ip", "netns", "add", peer);
    await run(
      "ip",
      "-n",
      name,
      "link",
      "add",
      "a0",
      "type",
      "veth",
      "peer",
      "name",
      "a1",
      "netns",
      peer,
    );
    await run("ip", "-n", name, "addr", "add", "10.200.0.1/24", "dev", "a0");
    await run("ip", "-n", peer, "addr", "add", "10.200.0.2/24", "dev", "a1");
    for (const [ns, dev] of [[name, "a0"], [peer, "a1"], [name, "lo"], [peer, "lo"]] as const) {
      await run("ip", "-n", ns, "link", "set", dev, "up");
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
  return {
    name,
    peer,
    path: `/run/netns/${name}`,
    /** Bounded: `count` echo requests from the peer to a0, 0.2 s apart, 1 s timeout each. */
    async ping(count: number) {
      await run(
        "ip",
        "netns",
        "exec",
        peer,
        "ping",
        "-q",
        "-c",
        String(count),
        "-i",
        "0.2",
        "-W",
        "1",
        "10.200.0.1",
      );
    },
    [Symbol.asyncDispose]: cleanup,
  };
}
