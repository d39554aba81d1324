// `deno task demo`: a 3-node lab with etcd and the load balancer, pods created through the CNI
// plugin, traffic between them, to the world, to a service (inside and from outside), a network
// policy applied and traced, and what the nodes know.
import { join } from "node:path";
import { ApiClient } from "../../core/api/client.ts";
import { PEER_PORT, type PeerStats } from "../../core/flows/observer.ts";
import { describe, flag, up } from "./up.ts";
import type { Lab } from "./lab.ts";
import { WORLD_IP } from "./lab.ts";
import type { LabPod } from "./pods.ts";
import { rrName, rrServe, rrWhoami } from "./rr.ts";
import { ping } from "./traffic.ts";

export async function demo(args: string[]): Promise<void> {
  const routing = flag(args, "--routing") === "native" ? "native" : "tunnel";
  const lab = await up(3, {
    etcd: 1,
    routing,
    nodeConfig: { plugins: { lb: { enabled: true } } },
  });
  try {
    console.log(`\ncreating pods through the hypha CNI plugin (as a container runtime calls it)`);
    const pods = [
      await lab.addPod("n1", "shop/web", { labels: { app: "web" } }),
      await lab.addPod("n2", "shop/api", { labels: { app: "api" } }),
      await lab.addPod("n3", "data/db", { labels: { app: "db" } }),
      await lab.addPod("n3", "shop/web2", { labels: { app: "web" } }),
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
    await services(lab, api);
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
    await flowPeers(lab);
    console.log(`\n=== hypha observe --cluster --last 12 (flows of every node, over mTLS) ===`);
    console.log((await lab.hypha("n1", ["observe", "--cluster", "--last", "12"])).stdout.trimEnd());
    console.log(`\n=== hypha observe --cluster --verdict DROPPED --last 4 ===`);
    console.log(
      (await lab.hypha("n1", ["observe", "--cluster", "--verdict", "DROPPED", "--last", "4"]))
        .stdout.trimEnd(),
    );
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

/** The cluster view's peers: mutual TLS with the lab's CA; a client without a certificate of
 * that CA gets nothing, one with a node's certificate gets a bounded answer. */
async function flowPeers(lab: Lab): Promise<void> {
  const n2 = lab.node("n2");
  using api = new ApiClient({ socket: n2.socket });
  const { peer } = await api.json<{ peer: PeerStats }>("GET", "/v1/flows/stats");
  console.log(`\n=== flow peers (observability.peer.tls: the lab's CA, ${lab.pki.dir}) ===`);
  console.log(
    `  n2 serves flows on ${peer.listening} (${peer.mode}), at most ${peer.maxFlows} per answer`,
  );
  const url = `https://${n2.ip}:${PEER_PORT}/v1/flows?last=2`;
  const curl = (...args: string[]) =>
    lab.exec(
      "n1",
      ["curl", "-sS", "--max-time", "5", "--cacert", lab.pki.path("ca.crt"), ...args],
      {
        allowFail: true,
      },
    );
  const anonymous = await curl(url);
  console.log(
    `  curl from n1 without a certificate: ${(anonymous.stderr || anonymous.stdout).trim()}`,
  );
  const n1 = lab.tlsFiles("n1");
  const signed = await curl("--cert", n1.cert, "--key", n1.key, url);
  const body = JSON.parse(signed.stdout) as { flows: unknown[]; truncated: boolean };
  console.log(
    `  curl from n1 with n1's certificate: ${body.flows.length} flows (truncated: ${body.truncated})`,
  );
}

/** A Service over shop/web and shop/web2: balanced for a pod (socket) and from outside. */
async function services(lab: Lab, client: LabPod): Promise<void> {
  console.log(`\na Service: shop/web (NodePort) over the two app=web pods`);
  const file = join(lab.dir, "demo-service.yaml");
  await Deno.writeTextFile(
    file,
    `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`,
  );
  console.log((await lab.hypha("n1", ["service", "apply", file])).stdout.trimEnd());
  await new Promise((r) => setTimeout(r, 1500));
  console.log((await lab.hypha("n2", ["service", "get", "shop/web"])).stdout.trimEnd());
  const svc = JSON.parse(
    (await lab.hypha("n2", ["service", "get", "shop/web", "-o", "json"]))
      .stdout,
  ) as { frontends: Array<{ kind: string; frontend: string }> };
  const at = (kind: string) => svc.frontends.find((f) => f.kind === kind)!.frontend;
  const clusterIP = at("ClusterIP").split(":")[0]!;
  const nodePort = Number(at("NodePort").split(":")[1]!.split("/")[0]);
  const count = async (ns: string, host: string, port: number) => {
    const seen: Record<string, number> = {};
    for (let i = 0; i < 10; i++) {
      const name = await rrName(ns, host, port).catch(() => "(failed)");
      seen[name] = (seen[name] ?? 0) + 1;
    }
    return Object.entries(seen).map(([k, v]) => `${k} x${v}`).join(", ");
  };
  console.log(
    `  ${client.key} -> ${clusterIP}:80 (socket LB): ${await count(client.ns, clusterIP, 80)}`,
  );
  const n1 = lab.node("n1").ip;
  console.log(
    `  outside -> ${n1}:${nodePort} (per packet at n1's uplink): ${await count(
      lab.external.ns,
      n1,
      nodePort,
    )}`,
  );
}
