// `deno task lab up|down|list` and `deno task demo`: labs from the command line.
import { demo } from "./demo.ts";
import { destroyLab, listLabs } from "./lab.ts";
import { describe, flag, up } from "./up.ts";

function usage(): never {
  console.error(`usage: deno task lab up [--nodes N] [--etcd 0|1|3] [--routing tunnel|native] [--lb]
       deno task lab down ID|--all
       deno task lab list
       deno task demo [--down-after] [--routing tunnel|native]`);
  Deno.exit(2);
}

async function main(args: string[]): Promise<void> {
  const [cmd, arg] = args;
  switch (cmd) {
    case "up": {
      const nodes = Number(flag(args, "--nodes") ?? "2");
      if (!Number.isInteger(nodes) || nodes < 1 || nodes > 16) {
        throw new Error("--nodes must be 1 to 16");
      }
      const etcd = Number(flag(args, "--etcd") ?? "0");
      if (etcd !== 0 && etcd !== 1 && etcd !== 3) throw new Error("--etcd must be 0, 1 or 3");
      const routing = flag(args, "--routing") ?? "tunnel";
      if (routing !== "tunnel" && routing !== "native") {
        throw new Error("--routing must be tunnel or native");
      }
      const lb = args.includes("--lb")
        ? { nodeConfig: { plugins: { lb: { enabled: true } } } }
        : {};
      console.log(describe(await up(nodes, { etcd, routing, ...lb })));
      return;
    }
    case "down": {
      const ids = arg === "--all" ? await listLabs() : arg ? [arg] : usage();
      for (const id of ids) {
        await destroyLab(id);
        console.log(`lab ${id} removed`);
      }
      return;
    }
    case "list": {
      const ids = await listLabs();
      console.log(ids.length ? ids.map((id) => `lab ${id}`).join("\n") : "no labs");
      return;
    }
    case "demo":
      return await demo(args);
    default:
      usage();
  }
}

if (import.meta.main) {
  try {
    await main(Deno.args);
    Deno.exit(0); // detached agents must not keep this process alive
  } catch (err) {
    console.error(`lab: ${err instanceof Error ? err.message : String(err)}`);
    Deno.exit(1);
  }
}
