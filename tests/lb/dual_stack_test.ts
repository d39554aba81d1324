// Dual-stack services: a RequireDualStack service gets an IPv4 and an IPv6 cluster IP and node
// ports on both node addresses; pods (socket path, IPv6 and IPv4-mapped on IPv6 sockets) and an
// external client (per-packet path, SNAT to the node's IPv6 address) reach both backends.
import assert from "node:assert/strict";
import { Lab } from "../lab/lab.ts";
import { ip } from "../lab/netns.ts";
import { rrServe, rrWhoami } from "../lab/rr.ts";
import { answers, applyServices, serviceOn, waitServed } from "./lb_lab.ts";
import { waitConverged } from "../lab/converge.ts";

const PORT = 8080;
const SERVICE = `
apiVersion: v1
kind: Service
metadata: { name: web, namespace: x }
spec:
  type: NodePort
  ipFamilyPolicy: RequireDualStack
  ipFamilies: [IPv6, IPv4]
  selector: { app: web }
  ports: [{ port: 80, targetPort: ${PORT} }]
`;

const v6 = (i: number) => `fd00:aa::${i}`;

Deno.test("lb: dual-stack services from pods and from outside", async () => {
  await using lab = await Lab.create({
    nodes: 2,
    etcd: 1,
    routing: "native",
    nodeConfig: {
      networking: { ipv6: { pool: "fd00:10:244::/56", nodeMaskSize: 64 } },
      services: { clusterIPRangeV6: "fd00:96::/108" },
      plugins: { lb: { enabled: true } },
    },
  });
  for (const [i, n] of ["n1", "n2"].entries()) {
    await lab.exec(n, ["ip", "-6", "addr", "add", `${v6(i + 11)}/64`, "dev", "eth0", "nodad"]);
  }
  await ip(lab.external.ns, "-6", "addr", "add", `${v6(254)}/64`, "dev", "eth0", "nodad");
  await lab.startAgents();
  const a = await lab.addPod("n1", "x/a", { labels: { app: "web" } });
  const b = await lab.addPod("n2", "x/b", { labels: { app: "web" } });
  const c = await lab.addPod("n2", "x/c", { labels: { app: "client" } });
  await using _sa = await rrServe(a.ns, { port: PORT, name: a.key });
  await using _sb = await rrServe(b.ns, { port: PORT, name: b.key });
  await waitConverged(lab); // IPv4 and IPv6 routes between the nodes' pods
  await applyServices(lab, SERVICE);
  await waitServed(lab, "x/web", 2);
  const s = (await serviceOn(lab, "n1", "x/web"))!;
  const cluster = s.frontends.filter((f) => f.kind === "ClusterIP").map((f) => f.frontend);
  assert.equal(cluster.length, 2, `two cluster IPs: ${cluster}`);
  const vip6 = /^\[(.+)\]:80\/TCP$/.exec(cluster.find((f) => f.startsWith("["))!)![1]!;
  const vip4 = /^(.+):80\/TCP$/.exec(cluster.find((f) => !f.startsWith("["))!)![1]!;
  const np = s.frontends.find((f) => f.kind === "NodePort" && f.frontend.startsWith("["))!;
  const nodePort = Number(/:(\d+)\/TCP$/.exec(np.frontend)![1]);
  const both = ["x/a", "x/b"];

  // pods: IPv6 and IPv4 cluster IPs; the backend sees the pod's own IPv6 address
  assert.deepEqual(Object.keys(await answers(c.ns, vip6, 80, 12)).sort(), both);
  assert.deepEqual(Object.keys(await answers(c.ns, vip4, 80, 12)).sort(), both);
  assert.equal((await rrWhoami(c.ns, vip6, 80)).address, c.ips[1]);
  // an IPv6 socket connecting to the IPv4-mapped cluster IP takes the IPv4 frontend
  assert.deepEqual(Object.keys(await answers(c.ns, `::ffff:${vip4}`, 80, 12)).sort(), both);
  // from outside, to either node's IPv6 address
  for (const i of [11, 12]) {
    assert.deepEqual(Object.keys(await answers(lab.external.ns, v6(i), nodePort, 12)).sort(), both);
  }
  const seen = new Set<string>();
  for (let i = 0; i < 16 && seen.size < 2; i++) {
    seen.add((await rrWhoami(lab.external.ns, v6(11), nodePort)).address);
  }
  assert.deepEqual([...seen].sort(), [v6(11), v6(254)].sort(), "local: client; remote: SNAT");
});
