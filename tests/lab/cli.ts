// `deno task lab up|down|list` and `deno task demo`: labs from the command line.
import { join } from "node:path";
import { destroyLab, Lab, type LabOptions, listLabs, WORLD_IP } from "./lab.ts";
import { rrServe, rrWhoami } from "./rr.ts";
import { ping } from "./traffic.ts";

function usage(): never {
  console.error(`usage: deno task lab up [--nodes N] [--etcd 0|1|3] [--routing tunnel|native]
       deno task lab down ID|--all
       deno task lab list
       deno task demo [--down-after] [--routing tunnel|native]`);
  Deno.exit(2);
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function describe(lab: Lab): string {
  const lines = [
    `lab ${lab.id}: underlay namespace ${lab.underlay} (bridge br0), world ${lab.external.ns} ${lab.external.ip} (and ${WORLD_IP})`,
  ];
  if (lab.etcd) lines.push(`  etcd: ${lab.etcd.endpoints.join(", ")} in namespace ${lab.kv.ns}`);
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
async function up(nodes: number, opts: Omit<LabOptions, "nodes"> = {}): Promise<Lab> {
  console.log(
    `creating a ${nodes}-node lab (network namespaces, bridge, veths; nothing in the root namespace)` +
      (opts.etcd ? ` with ${opts.etcd} etcd member(s)` : ""),
  );
  const lab = await Lab.create({ nodes, ...opts });
  console.log(`lab ${lab.id} created; starting an agent in every node`);
  await lab.startAgents({ detached: true });
  for (const n of lab.nodes.values()) {
    console.log(`  agent on ${n.name} ready (pid ${n.agent.pid})`);
  }
  return lab;
}

async function demo(args: string[]): Promise<void> {
  const routing = flag(args, "--routing") === "native" ? "native" : "tunnel";
  const lab = await up(3, { etcd: 1, routing });
  try {
    console.log(`\ncreating pods through the hypha CNI plugin (as a container runtime calls it)`);
    const pods = [
      await lab.addPod("n1", "shop/web", { labels: { app: "web" } }),
      await lab.addPod("n2", "shop/api", { labels: { app: "api" } }),
      await lab.addPod("n3", "data/db", { labels: { app: "db" } }),
    ];
    for (const p of pods) {
      console.log(`  ${p.key} on ${p.node}: ${p.ips.join(", ")} (netns ${p.ns})`);
    }
    const servers = [];
    for (const p of pods) servers.push(await rrServe(p.ns, { port: 8080, name: p.key }));
    const [web, api, db] = pods as [typeof pods[0], typeof pods[0], typeof pods[0]];
    console.log(`\npod to pod across nodes (${routing} routing), each server says who it saw:`);
    for (const [from, to] of [[web, api], [api, db], [db, web]] as const) {
      const seen = await rrWhoami(from.ns, to.ip, 8080);
      const r = await ping(from.ns, to.ip, 3);
      console.log(
        `  ${from.key} -> ${to.key}: TCP seen from ${seen.address}; ping ${r.received}/${r.sent}`,
      );
    }
    await using world = await rrServe(lab.external.ns, {
      port: 8080,
      name: "world",
      bind: WORLD_IP,
    });
    const out = await rrWhoami(web.ns, WORLD_IP, 8080);
    console.log(`  ${web.key} -> the world (${WORLD_IP}): seen from ${out.address} (masqueraded)`);
    await world.stop();
    console.log(`\na network policy: only shop pods may reach data/db, on port 8080`);
    const policy = join(lab.dir, "demo-policy.yaml");
    await Deno.writeTextFile(
      policy,
      `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-shop, namespace: data}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
    - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: shop}}}]
      ports: [{port: 8080}]
`,
    );
    console.log((await lab.hypha("n1", ["policy", "apply", policy])).stdout.trimEnd());
    await new Promise((r) => setTimeout(r, 1000));
    for (const [from, port] of [[api, 8080], [api, 9090]] as const) {
      console.log(
        (await lab.hypha("n1", [
          "policy",
          "trace",
          "--from",
          from.key,
          "--to",
          db.key,
          "--port",
          `${port}/TCP`,
        ])).stdout.trimEnd(),
      );
    }
    const seen = await rrWhoami(api.ns, db.ip, 8080).then(
      (w) => `reached, seen from ${w.address}`,
      () => "blocked",
    );
    console.log(`  ${api.key} -> ${db.key}:8080 for real: ${seen}`);
    for (const s of servers) await s.stop();
    console.log(`\n=== hypha node list (n1) ===`);
    console.log((await lab.hypha("n1", ["node", "list"])).stdout.trimEnd());
    console.log(`\n=== hypha endpoint list (n1) ===`);
    console.log((await lab.hypha("n1", ["endpoint", "list"])).stdout.trimEnd());
    console.log(`\n=== hypha network (n1) ===`);
    console.log((await lab.hypha("n1", ["network"])).stdout.trimEnd());
    console.log(`\n=== hypha counters (n2) ===`);
    console.log((await lab.hypha("n2", ["counters"])).stdout.trimEnd());
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
      const etcd = Number(flag(args, "--etcd") ?? "0");
      if (etcd !== 0 && etcd !== 1 && etcd !== 3) throw new Error("--etcd must be 0, 1 or 3");
      const routing = flag(args, "--routing") ?? "tunnel";
      if (routing !== "tunnel" && routing !== "native") {
        throw new Error("--routing must be tunnel or native");
      }
      console.log(describe(await up(nodes, { etcd, routing })));
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
