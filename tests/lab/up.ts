// Bringing labs up from the command line (`lab up`, the demo) and describing them.
import { join } from "node:path";
import { etcdctlTlsFlags } from "./etcd.ts";
import { Lab, type LabOptions, WORLD_IP } from "./lab.ts";

export function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

export function describe(lab: Lab): string {
  const lines = [
    `lab ${lab.id}: underlay namespace ${lab.underlay} (bridge br0), world ${lab.external.ns} ${lab.external.ip} (and ${WORLD_IP})`,
  ];
  if (lab.etcd) {
    lines.push(`  etcd: ${lab.etcd.endpoints.join(", ")} in namespace ${lab.kv.ns} (TLS)`);
    lines.push(
      `    etcdctl: ip netns exec ${lab.kv.ns} etcdctl --endpoints=${lab.etcd.endpoints[0]} ` +
        etcdctlTlsFlags(lab.etcd.tls).join(" ") + " get --prefix /hypha/",
    );
  }
  lines.push(`  certificates: ${lab.pki.dir} (the lab's CA and a certificate per node; flow peers`);
  lines.push(
    `    use them for mutual TLS; more with: hypha certs issue NAME --dir ${lab.pki.dir})`,
  );
  for (const n of lab.nodes.values()) {
    lines.push(`  node ${n.name}: namespace ${n.ns}, eth0 ${n.ip}, agent socket ${n.socket}`);
    lines.push(
      `    inspect: ip netns exec ${n.ns} scripts/deno task -q hypha status --config ${n.configFile}`,
    );
    lines.push(
      `    flows:   scripts/deno task -q hypha ui --socket ${n.socket}   (UI on 127.0.0.1:12000)`,
    );
    lines.push(`    log:     ${join(n.dir, "agent.log")}`);
  }
  lines.push(`  tear down: scripts/deno task lab down ${lab.id}`);
  return lines.join("\n");
}

/** Leaves the lab running after this process exits: agents are detached children. */
export async function up(nodes: number, opts: Omit<LabOptions, "nodes"> = {}): Promise<Lab> {
  console.log(
    `creating a ${nodes}-node lab (network namespaces, bridge, veths; nothing in the root namespace)` +
      (opts.etcd ? ` with ${opts.etcd} etcd member(s)` : ""),
  );
  const lab = await Lab.create({ nodes, ...opts });
  console.log(`lab ${lab.id} created; starting an agent in every node`);
  try {
    await lab.startAgents({ detached: true });
  } catch (err) {
    // A lab whose agents did not come up is of no use to anyone: take it down, say why.
    await lab.destroy().catch((e) => console.error(`lab ${lab.id} cleanup: ${e}`));
    throw err;
  }
  for (const n of lab.nodes.values()) {
    console.log(`  agent on ${n.name} ready (pid ${n.agent.pid})`);
  }
  return lab;
}
