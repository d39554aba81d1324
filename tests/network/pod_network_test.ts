// Pod networking end to end: a 3-node lab with a real etcd, pods wired by the real CNI plugin,
// real TCP and ICMP between them, in both routing modes. Which address a server saw tells
// whether traffic was translated: pods see each other's pod addresses, the world sees the node.
import assert from "node:assert/strict";
import { Lab, WORLD_IP } from "../lab/lab.ts";
import { rrClient, rrServe, rrWhoami } from "../lab/rr.ts";
import { ping } from "../lab/traffic.ts";
import { waitConverged } from "../lab/converge.ts";

const PORT = 7000;

const VARIANTS = [
  { name: "tunnel", routing: "tunnel", hostRouting: "legacy" },
  { name: "native", routing: "native", hostRouting: "legacy" },
  { name: "native, BPF host routing", routing: "native", hostRouting: "bpf" },
] as const;

for (const { name, routing, hostRouting } of VARIANTS) {
  Deno.test(`pod network (${name}): pods on 3 nodes reach each other, the nodes and the world`, async (t) => {
    await using lab = await Lab.create({
      nodes: 3,
      etcd: 1,
      routing,
      nodeConfig: { networking: { hostRouting } },
    });
    await lab.startAgents();
    const a = await lab.addPod("n1", "x/a", { labels: { app: "a" } });
    const a2 = await lab.addPod("n1", "x/a2", { labels: { app: "a" } });
    const b = await lab.addPod("n2", "x/b", { labels: { app: "b" } });
    const c = await lab.addPod("n3", "y/c", { labels: { app: "c" } });
    const servers = await Promise.all(
      [a, a2, b, c].map((p) => rrServe(p.ns, { port: PORT, name: p.key })),
    );
    await using _world = await rrServe(lab.external.ns, {
      port: PORT,
      name: "world",
      bind: WORLD_IP,
    });
    try {
      await t.step(
        "every node knows every node and endpoint, and routes to the others",
        async () => {
          // the routes follow the node list: traffic before them is a race
          await waitConverged(lab);
        },
      );

      await t.step(
        "pod to pod on the same node, and across nodes, with the pod's address",
        async () => {
          for (const [from, to] of [[a, a2], [a, b], [b, c], [c, a]] as const) {
            const seen = await rrWhoami(from.ns, to.ip, PORT);
            assert.equal(seen.address, from.ip, `${to.key} sees ${from.key}'s own address`);
            const r = await rrClient(from.ns, { host: to.ip, port: PORT, mode: "crr", count: 50 });
            assert.equal(
              r.failed,
              0,
              `${from.key} -> ${to.key}: ${JSON.stringify(r.firstFailures)}`,
            );
            assert.deepEqual(await ping(from.ns, to.ip, 2), { sent: 2, received: 2 });
          }
        },
      );

      await t.step(
        "the world sees the node's address (masquerade), replies come back",
        async () => {
          for (const p of [a, b]) {
            const seen = await rrWhoami(p.ns, WORLD_IP, PORT);
            assert.equal(seen.address, lab.node(p.node).ip);
            assert.deepEqual(await ping(p.ns, WORLD_IP, 2), { sent: 2, received: 2 });
          }
        },
      );

      await t.step("a node reaches pods on other nodes, and pods reach the nodes", async () => {
        assert.equal((await rrWhoami(lab.node("n1").ns, b.ip, PORT)).address, lab.node("n1").ip);
        assert.deepEqual(await ping(c.ns, lab.node("n1").ip, 2), { sent: 2, received: 2 });
      });

      await t.step("pod traffic bypasses the nodes' IP forwarding (BPF redirects)", async () => {
        // 200 connections x ~5 packets each way; a handful may take the stack while a
        // neighbour entry is resolved.
        const sameNode = await forwardedDuring(lab, ["n1"], () => crr(a, a2));
        assert.ok(sameNode[0]! < 20, `n1 forwarded ${sameNode[0]} packets between its own pods`);
        // Across nodes the receiving node delivers from BPF; each sending node forwards
        // through its stack only with native routing and hostRouting "legacy" (the default).
        const crossNode = await forwardedDuring(lab, ["n1", "n2"], () => crr(a, b));
        if (routing === "tunnel" || hostRouting === "bpf") {
          assert.ok(crossNode[0]! < 20, `n1 forwarded ${crossNode[0]} packets`);
          assert.ok(crossNode[1]! < 20, `n2 forwarded ${crossNode[1]} packets`);
        }
        const ct = JSON.parse(
          (await lab.hypha("n1", [
            "bpf",
            "map",
            "dump",
            "hypha_ct",
            "-o",
            "json",
            "--limit",
            "10000",
          ]))
            .stdout,
        ).entries as Array<{ value: { rx_packets: number; flags: number } }>;
        assert.ok(ct.some((e) => e.value.rx_packets > 0 && (e.value.flags & 1)), "replies matched");
      });
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  });
}

async function crr(from: { ns: string }, to: { ip: string }): Promise<void> {
  const r = await rrClient(from.ns, { host: to.ip, port: PORT, mode: "crr", count: 200 });
  assert.equal(r.failed, 0);
}

/** How many datagrams each node forwarded while `fn` ran. */
async function forwardedDuring(lab: Lab, nodes: string[], fn: () => Promise<void>) {
  const before = await Promise.all(nodes.map((n) => forwarded(lab, n)));
  await fn();
  const after = await Promise.all(nodes.map((n) => forwarded(lab, n)));
  return after.map((x, i) => x - before[i]!);
}

/** IP datagrams the node's kernel forwarded (Ip ForwDatagrams in /proc/net/snmp). */
async function forwarded(lab: Lab, node: string): Promise<number> {
  const snmp = (await lab.exec(node, ["cat", "/proc/net/snmp"])).stdout.split("\n");
  const [names, values] = snmp.filter((l) => l.startsWith("Ip:")).map((l) => l.split(/\s+/));
  return Number(values![names!.indexOf("ForwDatagrams")]);
}

for (const routing of ["tunnel", "native"] as const) {
  Deno.test(`pod network (${routing}): dual stack gives pods IPv6 too, local and across nodes`, async () => {
    await using lab = await Lab.create({
      nodes: 2,
      etcd: 1,
      routing,
      nodeConfig: { networking: { ipv6: { pool: "fd00:10:244::/56", nodeMaskSize: 64 } } },
    });
    // native IPv6 routes go through the nodes' IPv6 addresses
    for (const [i, n] of ["n1", "n2"].entries()) {
      await lab.exec(n, [
        "ip",
        "-6",
        "addr",
        "add",
        `fd00:aa::${i + 11}/64`,
        "dev",
        "eth0",
        "nodad",
      ]);
    }
    await lab.startAgents();
    const a = await lab.addPod("n1", "x/a");
    const a2 = await lab.addPod("n1", "x/a2");
    const b = await lab.addPod("n2", "x/b");
    for (const p of [a, a2, b]) {
      assert.equal(p.ips.length, 2, `${p.key} has IPv4 and IPv6`);
      assert.match(p.ips[1]!, /^fd00:10:244:/);
    }
    await using _s1 = await rrServe(a2.ns, { port: PORT });
    await using _s2 = await rrServe(b.ns, { port: PORT });
    await waitConverged(lab); // IPv4 and IPv6 routes to the other node's pod CIDRs
    for (const to of [a2, b]) {
      const seen = await rrWhoami(a.ns, to.ips[1]!, PORT);
      assert.equal(seen.address, a.ips[1], `${to.key} sees a's IPv6 address`);
      const r = await rrClient(a.ns, { host: to.ips[1]!, port: PORT, mode: "crr", count: 50 });
      assert.equal(r.failed, 0);
      assert.deepEqual(await ping(a.ns, to.ips[1]!, 2), { sent: 2, received: 2 });
    }
  });
}
