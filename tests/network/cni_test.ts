// The CNI plugin as a container runtime calls it (environment + stdin, cnitool-style), against
// a real agent: the spec's commands and results, and bad input answered with the spec's error
// while nothing is half-created and other pods keep working.
import assert from "node:assert/strict";
import { Lab } from "../lab/lab.ts";
import { run } from "../lab/netns.ts";
import { PodError } from "../lab/pods.ts";
import { rrClient, rrServe } from "../lab/rr.ts";

interface CniErr {
  code: number;
  msg: string;
  details?: string;
}

/** What the node has for pods: host-side veths, hypha routes, endpoint map entries. */
async function footprint(lab: Lab, node: string) {
  const links = (await lab.exec(node, ["ip", "-o", "link", "show"])).stdout.split("\n")
    .filter((l) => / hyx[0-9a-f]+@/.test(l)).length;
  const routes = (await lab.exec(node, ["ip", "route", "show", "proto", "77"])).stdout.split("\n")
    .filter((l) => l.includes(" dev hyx")).length;
  const maps = JSON.parse(
    (await lab.hypha(node, ["bpf", "map", "dump", "hypha_endpoints", "-o", "json"])).stdout,
  ).entries.length as number;
  const eps = JSON.parse((await lab.hypha(node, ["endpoint", "list", "-o", "json"])).stdout)
    .endpoints.filter((e: { node: string }) => e.node === node).length as number;
  return { links, routes, maps, eps };
}

Deno.test("CNI plugin: ADD, CHECK, DEL, GC, STATUS and VERSION as the spec defines them", async (t) => {
  await using lab = await Lab.create({ nodes: 1 });
  await lab.startAgents();
  const cni = lab.pods.tool("n1");
  const conf = lab.pods.conf("n1");

  await t.step("VERSION lists the supported versions", async () => {
    const r = await cni.version({ cniVersion: "1.0.0" });
    assert.equal(r.exitCode, 0);
    assert.deepEqual((r.json as { supportedVersions: string[] }).supportedVersions, [
      "0.3.0",
      "0.3.1",
      "0.4.0",
      "1.0.0",
      "1.1.0",
    ]);
  });

  const { ns, netns } = await lab.pods.createNetns();
  const att = { containerId: "c0ffee01", netns, ifname: "eth0" };
  let result: Record<string, unknown> = {};

  await t.step("ADD wires the pod and returns interfaces, ips, routes", async () => {
    const r = await cni.add(conf, att);
    assert.equal(r.exitCode, 0, r.stdout);
    result = r.json as Record<string, unknown>;
    const ips = result.ips as Array<{ address: string; gateway: string; interface: number }>;
    assert.equal(result.cniVersion, "1.0.0");
    assert.match(ips[0]!.address, /^10\.244\.0\.\d+\/32$/);
    assert.equal(ips[0]!.gateway, "10.244.0.1");
    const ifs = result.interfaces as Array<{ name: string; sandbox?: string }>;
    assert.equal(ifs[ips[0]!.interface]!.sandbox, netns);
    const addr = (await run(["ip", "-n", ns, "-j", "addr", "show", "dev", "eth0"])).stdout;
    assert.ok(addr.includes(ips[0]!.address.split("/")[0]!), "the pod has its address");
  });

  await t.step("an old cniVersion gets the old result shape", async () => {
    const { netns: n2 } = await lab.pods.createNetns();
    const r = await cni.add({ ...conf, cniVersion: "0.3.1" }, {
      ...att,
      containerId: "old031",
      netns: n2,
    });
    assert.equal(r.exitCode, 0, r.stdout);
    const ips = (r.json as { ips: Array<{ version: string }> }).ips;
    assert.equal(ips[0]!.version, "4");
    assert.equal(
      (await cni.del({ ...conf, cniVersion: "0.3.1" }, {
        ...att,
        containerId: "old031",
        netns: n2,
      })).exitCode,
      0,
    );
  });

  await t.step("CHECK passes for a healthy pod and fails once its address is gone", async () => {
    assert.equal((await cni.check({ ...conf, prevResult: result }, att)).exitCode, 0);
    const ip = (result.ips as Array<{ address: string }>)[0]!.address;
    await run(["ip", "-n", ns, "addr", "del", ip, "dev", "eth0"]);
    const r = await cni.check({ ...conf, prevResult: result }, att);
    assert.equal(r.exitCode, 1);
    assert.match((r.json as CniErr).msg, /lacks/);
    await run(["ip", "-n", ns, "addr", "add", ip, "dev", "eth0"]);
  });

  await t.step("STATUS answers ready", async () => {
    assert.equal((await cni.status({ ...conf, cniVersion: "1.1.0" })).exitCode, 0);
  });

  await t.step("DEL removes everything and is idempotent", async () => {
    assert.equal((await cni.del(conf, att)).exitCode, 0);
    assert.equal((await cni.del(conf, att)).exitCode, 0, "a second DEL succeeds");
    assert.equal((await cni.del(conf, { ...att, netns: "" })).exitCode, 0, "DEL without netns");
    assert.deepEqual(await footprint(lab, "n1"), { links: 0, routes: 0, maps: 0, eps: 0 });
  });

  await t.step("GC removes attachments the runtime no longer knows", async () => {
    const keep = await lab.addPod("n1", "x/keep");
    await lab.addPod("n1", "x/drop");
    const r = await cni.gc({
      ...conf,
      cniVersion: "1.1.0",
      "cni.dev/valid-attachments": [{ containerID: keep.containerId, ifname: "eth0" }],
    });
    assert.equal(r.exitCode, 0, r.stdout);
    const eps = JSON.parse((await lab.hypha("n1", ["endpoint", "list", "-o", "json"])).stdout)
      .endpoints as Array<{ pod: string }>;
    assert.deepEqual(eps.map((e) => e.pod), ["keep"]);
  });
});

Deno.test("CNI plugin: bad input gets the spec's error, creates nothing, breaks nothing", async (t) => {
  // A /29 pod CIDR: 8 addresses, 5 for pods after network, router and broadcast.
  await using lab = await Lab.create({
    nodes: 1,
    nodeConfig: { node: { podCIDR: "10.244.9.0/29" } },
  });
  await lab.startAgents();
  const cni = lab.pods.tool("n1");
  const conf = lab.pods.conf("n1");
  const server = await lab.addPod("n1", "x/server");
  const client = await lab.addPod("n1", "x/client");
  await using _srv = await rrServe(server.ns, { port: 7000 });
  const baseline = await footprint(lab, "n1");
  const { netns } = await lab.pods.createNetns();
  const att = { containerId: "bad0001", netns, ifname: "eth0" };

  const expectError = async (
    what: string,
    call: () => ReturnType<typeof cni.add>,
    code: number,
    msg: RegExp,
  ) => {
    await t.step(what, async () => {
      const r = await call();
      assert.equal(r.exitCode, 1, r.stdout);
      const err = r.json as CniErr & { cniVersion: string };
      assert.equal(err.code, code, JSON.stringify(err));
      assert.match(err.msg, msg);
      assert.deepEqual(await footprint(lab, "n1"), baseline, "nothing half-created");
      const traffic = await rrClient(client.ns, {
        host: server.ip,
        port: 7000,
        mode: "crr",
        count: 20,
      });
      assert.equal(traffic.failed, 0, "other pods unaffected");
    });
  };

  await expectError(
    "malformed JSON",
    () => cni.exec("ADD", "{not json", att),
    6,
    /decode|JSON/i,
  );
  await expectError(
    "an unknown cniVersion",
    () => cni.add({ ...conf, cniVersion: "9.9.9" }, att),
    1,
    /9\.9\.9/,
  );
  await expectError(
    "a missing network namespace",
    () => cni.add(conf, { ...att, netns: "/var/run/netns/no-such-pod" }),
    3,
    /does not exist/,
  );
  await expectError(
    "a file that is not a namespace",
    () => cni.add(conf, { ...att, netns: "/etc/hostname" }),
    4,
    /not a namespace/,
  );
  const agentPid = lab.node("n1").agent.pid!;
  await expectError(
    "the node's own namespace",
    () => cni.add(conf, { ...att, netns: `/proc/${agentPid}/ns/net` }),
    4,
    /node's own network namespace/,
  );
  await expectError(
    "an invalid interface name",
    () => cni.add(conf, { ...att, ifname: "this-name-is-too-long" }),
    4,
    /CNI_IFNAME/,
  );
  await expectError(
    "a duplicate container id",
    () => cni.add(conf, { ...att, containerId: server.containerId }),
    101,
    /already has interface "eth0"/,
  );

  await t.step("an exhausted pod CIDR", async () => {
    await lab.addPod("n1", "x/p3");
    await lab.addPod("n1", "x/p4");
    await lab.addPod("n1", "x/p5");
    const full = await footprint(lab, "n1");
    const err = await lab.addPod("n1", "x/p6").then(() => undefined, (e: PodError) => e);
    assert.ok(err instanceof PodError, "the sixth pod is refused");
    assert.equal(err.cni?.code, 102);
    assert.match(err.cni!.msg, /No free IPv4 address in pod CIDR 10\.244\.9\.0\/29/);
    assert.deepEqual(await footprint(lab, "n1"), full, "nothing half-created");
    const traffic = await rrClient(client.ns, {
      host: server.ip,
      port: 7000,
      mode: "crr",
      count: 20,
    });
    assert.equal(traffic.failed, 0);
  });
});
