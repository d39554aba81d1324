// `deno task lab up|down|list` and `deno task demo`: labs from the command line.
import { join } from "node:path";
import { destroyLab, Lab, listLabs } from "./lab.ts";
import { ping } from "./traffic.ts";

function usage(): never {
  console.error(`usage: deno task lab up [--nodes N] | down ID|--all | list
       deno task demo [--down-after]`);
  Deno.exit(2);
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function describe(lab: Lab): string {
  const lines = [
    `lab ${lab.id}: underlay namespace ${lab.underlay} (bridge br0), world ${lab.external.ns} ${lab.external.ip}`,
  ];
  for (const n of lab.nodes.values()) {
    lines.push(`  node ${n.name}: namespace ${n.ns}, eth0 ${n.ip}, agent socket ${n.socket}`);
    lines.push(
      `    inspect: ip netns exec ${n.ns} scripts/deno task -q hypha status --config ${n.configFile}`,
    );
    lines.push(`    log:     ${join(n.dir, "agent.log")}`);
  }
  lines.push(`  tear down: scripts/deno task lab down ${lab.id}`);
  return lines.join("\n");
}

/** Leaves the lab running after this process exits: agents are detached children. */
async function up(nodes: number): Promise<Lab> {
  console.log(
    `creating a ${nodes}-node lab (network namespaces, bridge, veths; nothing in the root namespace)`,
  );
  const lab = await Lab.create({ nodes });
  console.log(`lab ${lab.id} created; starting an agent in every node`);
  await lab.startAgents();
  for (const n of lab.nodes.values()) {
    console.log(`  agent on ${n.name} ready (pid ${n.agent.pid})`);
  }
  return lab;
}

async function demo(args: string[]): Promise<void> {
  const lab = await up(2);
  try {
    const [a, b] = [...lab.nodes.values()];
    console.log(
      `\nsending 5 pings ${a!.name} -> ${b!.name} (${b!.ip}) through the agents' tc programs`,
    );
    const r = await ping(a!.ns, b!.ip, 5);
    console.log(`  ${r.received}/${r.sent} replies`);
    for (const n of lab.nodes.values()) {
      console.log(`\n=== hypha status on ${n.name} ===`);
      console.log((await lab.hypha(n.name, ["status"])).stdout.trimEnd());
      console.log(`\n=== hypha counters on ${n.name} ===`);
      console.log((await lab.hypha(n.name, ["counters"])).stdout.trimEnd());
    }
    console.log("");
    console.log(describe(lab));
  } catch (err) {
    await lab.destroy();
    throw err;
  }
  if (args.includes("--down-after")) {
    await lab.destroy();
    console.log(`\nlab ${lab.id} torn down`);
  } else {
    console.log(`\nthe lab keeps running; tear it down with: scripts/deno task lab down ${lab.id}`);
  }
}

async function main(args: string[]): Promise<void> {
  const [cmd, arg] = args;
  switch (cmd) {
    case "up": {
      const nodes = Number(flag(args, "--nodes") ?? "2");
      if (!Number.isInteger(nodes) || nodes < 1 || nodes > 16) {
        throw new Error("--nodes must be 1 to 16");
      }
      console.log(describe(await up(nodes)));
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
