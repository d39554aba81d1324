// The load balancer (plugins/lb) against kube-proxy's behaviours, in a 2-node lab with etcd:
// for each Service feature, real connections from pods, from the nodes and from an external
// namespace, asserting which backend answered (backends answer their pod name) and which source
// address they saw. One lab serves every step, so the steps share services and pods.
import assert from "node:assert/strict";
import { ApiClient } from "../../core/api/client.ts";
import { Lab } from "../lab/lab.ts";
import { ip } from "../lab/netns.ts";
import { rrClient, rrServe, rrWhoami } from "../lab/rr.ts";
import { snmpCounter } from "../lab/traffic.ts";
import {
  addresses,
  answers,
  applyServices,
  deleteServices,
  failureEvidence,
  serviceOn,
  waitFor,
  waitServed,
} from "./lb_lab.ts";

const PORT = 8080;
const LB_NET = "192.0.2";

const SERVICES = `
apiVersion: v1
kind: Service
metadata: { name: web, namespace: x }
spec:
  type: NodePort
  selector: { app: web }
  ports:
    - { name: http, port: 80, targetPort: ${PORT} }
    - { name: dns, port: 53, targetPort: ${PORT}, protocol: UDP }
---
apiVersion: v1
kind: Service
metadata: { name: named, namespace: x }
spec:
  selector: { app: web }
  ports:
    - { name: http, port: 81, targetPort: web }
    - { name: other, port: 82, targetPort: ${PORT} }
---
apiVersion: v1
kind: Service
metadata: { name: lb, namespace: x }
spec:
  type: LoadBalancer
  selector: { app: web }
  externalIPs: [${LB_NET}.20]
  ports: [{ port: 80, targetPort: ${PORT} }]
status: { loadBalancer: { ingress: [{ ip: ${LB_NET}.10 }] } }
---
apiVersion: v1
kind: Service
metadata: { name: sticky, namespace: x }
spec:
  type: NodePort
  selector: { app: web }
  sessionAffinity: ClientIP
  sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } }
  ports: [{ port: 80, targetPort: ${PORT} }]
---
apiVersion: v1
kind: Service
metadata:
  name: maglev
  namespace: x
  annotations: { service.cilium.io/lb-algorithm: maglev }
spec:
  type: LoadBalancer
  selector: { app: web }
  ports: [{ port: 80, targetPort: ${PORT} }]
status: { loadBalancer: { ingress: [{ ip: ${LB_NET}.50 }] } }
---
apiVersion: v1
kind: Service
metadata: { name: local, namespace: x }
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: { app: local }
  ports: [{ port: 80, targetPort: ${PORT} }]
status: { loadBalancer: { ingress: [{ ip: ${LB_NET}.30 }] } }
---
apiVersion: v1
kind: Service
metadata: { name: internal, namespace: x }
spec:
  internalTrafficPolicy: Local
  selector: { app: local }
  ports: [{ port: 80, targetPort: ${PORT} }]
---
apiVersion: v1
kind: Service
metadata: { name: ranged, namespace: x }
spec:
  type: LoadBalancer
  selector: { app: web }
  loadBalancerSourceRanges: [RANGE]
  ports: [{ port: 80, targetPort: ${PORT} }]
status: { loadBalancer: { ingress: [{ ip: ${LB_NET}.40 }] } }
---
apiVersion: v1
kind: Service
metadata: { name: empty, namespace: x }
spec:
  type: NodePort
  selector: { app: nothing }
  ports:
    - { name: tcp, port: 80, targetPort: ${PORT} }
    - { name: udp, port: 53, targetPort: ${PORT}, protocol: UDP }
---
apiVersion: v1
kind: Service
metadata: { name: headless, namespace: x }
spec:
  clusterIP: None
  selector: { app: web }
  ports: [{ port: 80, targetPort: ${PORT} }]
`;

/** A selector-less service and its hand-written slice (backends by address). */
function manual(
  name: string,
  endpoints: Array<{ ip: string; ready?: boolean; terminating?: boolean }>,
) {
  return `
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: x }
spec:
  type: NodePort
  ports: [{ name: app, port: 80, targetPort: ${PORT} }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${name}-1
  namespace: x
  labels: { kubernetes.io/service-name: ${name} }
addressType: IPv4
ports: [{ name: app, port: ${PORT}, protocol: TCP }]
endpoints:
${
    endpoints.map((e) =>
      `  - addresses: [${e.ip}]
    conditions: { ready: ${e.ready ?? true}, serving: true, terminating: ${
        e.terminating ?? false
      } }`
    ).join("\n")
  }
`;
}

const only = (r: Record<string, number>) => Object.keys(r);

Deno.test("lb: every Service type, from pods, nodes and outside (tunnel, SNAT)", async (t) => {
  await using lab = await Lab.create({
    nodes: 2,
    etcd: 1,
    nodeConfig: { plugins: { lb: { enabled: true } } },
  });
  await lab.startAgents();
  const ext = lab.external;
  const other = `${lab.subnet}.253`; // a second client address outside the source ranges
  await ip(ext.ns, "addr", "add", `${other}/24`, "dev", "eth0");
  // "the load balancer" in front of the cluster: LoadBalancer and external IPs reach a node
  for (
    const [vip, node] of [["10", "n1"], ["20", "n2"], ["30", "n1"], ["40", "n1"], ["50", "n1"]]
  ) {
    await ip(ext.ns, "route", "add", `${LB_NET}.${vip}/32`, "via", lab.node(node!).ip);
  }
  // Pods: named ports come from the pods' records in the store, as the Kubernetes API has them.
  for (const name of ["a", "b"]) {
    await lab.etcdctl([
      "put",
      `${lab.etcdBase}pods/x/${name}`,
      JSON.stringify({
        labels: { app: "web" },
        namedPorts: { web: { port: PORT, protocol: "TCP" } },
      }),
    ]);
  }
  const a = await lab.addPod("n1", "x/a", { labels: { app: "web" } });
  const b = await lab.addPod("n2", "x/b", { labels: { app: "web" } });
  const l = await lab.addPod("n1", "x/l", { labels: { app: "local" } });
  const c1 = await lab.addPod("n1", "x/c1", { labels: { app: "client" } });
  const c2 = await lab.addPod("n2", "x/c2", { labels: { app: "client" } });
  const h = await lab.addPod("n1", "x/h", {
    labels: { app: "hostport" },
    portMappings: [{ hostPort: 9000, containerPort: PORT, protocol: "tcp" }],
  });
  const servers = await Promise.all(
    [a, b, l, h].map((p) => rrServe(p.ns, { port: PORT, name: p.key, udp: true })),
  );
  const n1 = lab.node("n1"), n2 = lab.node("n2");
  try {
    console.log(await applyServices(lab, SERVICES.replace("RANGE", `${ext.ip}/32`)));
    await applyServices(lab, manual("manual", [{ ip: a.ip }, { ip: b.ip }]));
    for (const key of ["x/web", "x/named", "x/lb", "x/sticky", "x/maglev", "x/manual"]) {
      await waitServed(lab, key, 2);
    }
    const web = await addresses(lab, "x/web");
    const both = ["x/a", "x/b"];

    await t.step("ClusterIP: pods on both nodes and the nodes reach every backend", async () => {
      for (const from of [c1.ns, c2.ns, n1.ns, n2.ns]) {
        assert.deepEqual(only(await answers(from, web.clusterIP!, 80, 16)).sort(), both, from);
      }
      // east-west is balanced at the socket: the backend sees the pod's own address
      const seen = await rrWhoami(c2.ns, web.clusterIP!, 80);
      assert.equal(seen.address, c2.ip);
      const r = await rrClient(c1.ns, { host: web.clusterIP!, port: 80, mode: "crr", count: 200 });
      assert.equal(r.failed, 0, JSON.stringify(r.firstFailures));
    });

    await t.step("ClusterIP over UDP; replies come from the service address", async () => {
      assert.deepEqual(
        only(await answers(c1.ns, web.clusterIP!, 53, 16, { udp: true })).sort(),
        both,
      );
      // unconnected sendto/recvfrom and getpeername() show the service, not the backend
      const py = `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(b"hello", ("${web.clusterIP}", 53))
data, peer = s.recvfrom(100)
t = socket.create_connection(("${web.clusterIP}", 80), timeout=2)
print(peer[0], peer[1], data.decode(), t.getpeername()[0], t.getpeername()[1])
`;
      const out = (await lab.pods.exec("x/c1", ["python3", "-c", py])).stdout.trim();
      assert.equal(out, `${web.clusterIP} 53 hello ${web.clusterIP} 80`);
    });

    await t.step("named target ports and several ports per service", async () => {
      const named = await addresses(lab, "x/named");
      assert.deepEqual(only(await answers(c1.ns, named.clusterIP!, 81, 12)).sort(), both);
      assert.deepEqual(only(await answers(c2.ns, named.clusterIP!, 82, 12)).sort(), both);
    });

    await t.step("NodePort: from outside through either node, from pods and nodes", async () => {
      for (const node of [n1, n2]) {
        assert.deepEqual(only(await answers(ext.ns, node.ip, web.nodePort!, 16)).sort(), both);
        assert.deepEqual(only(await answers(c1.ns, node.ip, web.nodePort!, 12)).sort(), both);
        assert.deepEqual(only(await answers(n2.ns, node.ip, web.nodePort!, 12)).sort(), both);
      }
      // a local backend sees the client; a remote one sees the node that translated (SNAT)
      const seen = new Set<string>();
      for (let i = 0; i < 16 && seen.size < 2; i++) {
        seen.add((await rrWhoami(ext.ns, n1.ip, web.nodePort!)).address);
      }
      assert.deepEqual([...seen].sort(), [ext.ip, n1.ip].sort());
      const r = await rrClient(ext.ns, {
        host: n2.ip,
        port: web.nodePort!,
        mode: "crr",
        count: 200,
      });
      assert.equal(r.failed, 0, JSON.stringify(r.firstFailures));
      const udp = await answers(ext.ns, n2.ip, (await udpNodePort(lab, "x/web"))!, 12, {
        udp: true,
      });
      assert.deepEqual(only(udp).sort(), both);
    });

    await t.step("LoadBalancer and external IPs, from outside and from pods", async () => {
      for (const vip of [`${LB_NET}.10`, `${LB_NET}.20`]) {
        assert.deepEqual(only(await answers(ext.ns, vip, 80, 16)).sort(), both, vip);
        assert.deepEqual(only(await answers(c2.ns, vip, 80, 12)).sort(), both, vip);
      }
    });

    await t.step("HostPort: the node's address and port reach the pod", async () => {
      await waitFor("the host port is served", async () => {
        const s = await lab.hypha("n1", ["service", "get", "x/h", "-o", "json"], {
          allowFail: true,
        });
        return s.code === 0;
      });
      assert.deepEqual(await answers(ext.ns, n1.ip, 9000, 4), { "x/h": 4 });
      assert.deepEqual(await answers(c2.ns, n1.ip, 9000, 4), { "x/h": 4 });
      assert.equal((await rrWhoami(ext.ns, n1.ip, 9000)).address, ext.ip);
    });

    await t.step("a service without selector takes its backends from EndpointSlices", async () => {
      const m = await addresses(lab, "x/manual");
      const fromPod = await answers(c1.ns, m.clusterIP!, 80, 12);
      assert.deepEqual(only(fromPod).sort(), both, await failureEvidence(lab, fromPod));
      const fromOutside = await answers(ext.ns, n2.ip, m.nodePort!, 12);
      assert.deepEqual(only(fromOutside).sort(), both, await failureEvidence(lab, fromOutside));
    });

    await t.step("headless services have no virtual address", async () => {
      const s = await serviceOn(lab, "n1", "x/headless");
      assert.ok(s);
      assert.equal(s.frontends.length, 0);
    });

    await t.step("session affinity ClientIP keeps each client on one backend", async () => {
      const sticky = await addresses(lab, "x/sticky");
      for (const from of [c1.ns, c2.ns, n1.ns]) {
        assert.equal(only(await answers(from, sticky.clusterIP!, 80, 10)).length, 1, from);
      }
      assert.equal(only(await answers(ext.ns, n1.ip, sticky.nodePort!, 10)).length, 1);
    });

    await t.step("Maglev: both nodes pick the same backend for the same flow", async () => {
      // The same 5-tuple (client address and port to the LoadBalancer IP) through n1, then,
      // after the router moved the IP to n2, through n2: the table, not the node, decides.
      const vip = `${LB_NET}.50`;
      const ports = Array.from({ length: 8 }, (_, i) => 41001 + i);
      const pick = async () => {
        const out: string[] = [];
        for (const localPort of ports) {
          out.push(only(await answers(ext.ns, vip, 80, 1, { localPort }))[0]!);
        }
        return out;
      };
      const viaN1 = await pick();
      assert.deepEqual(await pick(), viaN1, "a flow keeps its backend");
      await ip(ext.ns, "route", "replace", `${vip}/32`, "via", n2.ip);
      const viaN2 = await pick();
      assert.deepEqual(viaN2, viaN1, "n2 picks what n1 picked");
      assert.deepEqual([...new Set(viaN1)].sort(), both, "flows spread over both backends");
      for (const n of ["n1", "n2"]) {
        const maps = JSON.parse((await lab.hypha(n, ["bpf", "lb", "list", "-o", "json"])).stdout);
        assert.ok(maps.maglev.length >= 1, `${n} has a Maglev table`);
      }
    });

    await t.step("externalTrafficPolicy Local: client address kept, health check", async () => {
      await waitServed(lab, "x/local", 1, ["n1"]);
      const vip = `${LB_NET}.30`;
      assert.deepEqual(await answers(ext.ns, vip, 80, 6), { "x/l": 6 });
      assert.equal((await rrWhoami(ext.ns, vip, 80)).address, ext.ip);
      const local = await addresses(lab, "x/local");
      // n2 has no local backend: its node port drops (the health check sends LBs elsewhere)
      const viaN2 = await answers(ext.ns, n2.ip, local.nodePort!, 2, { timeoutMs: 800 });
      assert.deepEqual(viaN2, { "!timeout": 2 });
      const svc = JSON.parse(
        (await lab.hypha("n1", ["service", "get", "x/local", "-o", "json"]))
          .stdout,
      );
      assert.ok(svc.frontends.length > 0);
      const hc = await healthCheckPort(lab);
      const curl = (node: string) =>
        lab.exec("n1", ["curl", "-s", "-w", " %{http_code}", `http://${lab.node(node).ip}:${hc}/`]);
      const r1 = (await curl("n1")).stdout;
      assert.match(r1, /"localEndpoints":1.* 200$/);
      assert.match(r1, /"service":\{"namespace":"x","name":"local"\}/);
      assert.match((await curl("n2")).stdout, /"localEndpoints":0.* 503$/);
    });

    await t.step("internalTrafficPolicy Local: only this node's backends", async () => {
      const internal = await addresses(lab, "x/internal");
      assert.deepEqual(await answers(c1.ns, internal.clusterIP!, 80, 4), { "x/l": 4 });
      assert.deepEqual(await answers(c2.ns, internal.clusterIP!, 80, 2), { "!refused": 2 });
    });

    await t.step("loadBalancerSourceRanges: only listed sources get in", async () => {
      const vip = `${LB_NET}.40`;
      assert.deepEqual(only(await answers(ext.ns, vip, 80, 12)).sort(), both);
      assert.deepEqual(
        await answers(ext.ns, vip, 80, 2, { bind: other, timeoutMs: 800 }),
        { "!timeout": 2 },
      );
      const counters = (await lab.hypha("n1", ["counters", "-o", "json"])).stdout;
      assert.match(counters, /LB_SOURCE_RANGE/);
    });

    await t.step("no ready backend: refused (RST, ICMP), not black-holed", async () => {
      const empty = await addresses(lab, "x/empty");
      for (const from of [c1.ns, n1.ns]) {
        assert.deepEqual(await answers(from, empty.clusterIP!, 80, 2), { "!refused": 2 });
        assert.deepEqual(
          await answers(from, empty.clusterIP!, 53, 2, { udp: true }),
          { "!refused": 2 },
        );
      }
      assert.deepEqual(await answers(ext.ns, n1.ip, empty.nodePort!, 2), { "!refused": 2 });
      const udpPort = (await udpNodePort(lab, "x/empty"))!;
      assert.deepEqual(await answers(ext.ns, n2.ip, udpPort, 2, { udp: true }), {
        "!refused": 2,
      });
    });

    await t.step("established connections keep their backend; terminating backends", async () => {
      await applyServices(lab, manual("term", [{ ip: a.ip }, { ip: b.ip }]));
      await waitServed(lab, "x/term", 2);
      const term = await addresses(lab, "x/term");
      // long connections through the per-packet path (outside) and the socket path (a pod),
      // running until every change below is served; the phases wait on the backends' TCP
      // counters (connections accepted, segments received), not on a fixed time
      const backends = [a.ns, b.ns];
      const sum = async (counter: string) =>
        (await Promise.all(backends.map((ns) => snmpCounter(ns, "Tcp", counter))))
          .reduce((x, y) => x + y, 0);
      const grows = async (what: string, counter: string, from: number, by: number) =>
        await waitFor(what, async () => (await sum(counter)) >= from + by);
      const opened = await sum("PassiveOpens");
      const stop = new AbortController();
      const long = [
        rrClient(ext.ns, {
          host: n1.ip,
          port: term.nodePort!,
          mode: "rr",
          durationS: 300,
          stop: stop.signal,
        }),
        rrClient(c1.ns, {
          host: term.clusterIP!,
          port: 80,
          mode: "rr",
          durationS: 300,
          stop: stop.signal,
        }),
      ];
      try {
        await grows("both long connections are accepted", "PassiveOpens", opened, 2);
        await grows("they carry transactions", "InSegs", await sum("InSegs"), 100);
        // a terminates (still serving): new connections avoid it, existing ones finish
        await applyServices(
          lab,
          manual("term", [{ ip: a.ip, ready: false, terminating: true }, {
            ip: b.ip,
          }]),
        );
        await waitServed(lab, "x/term", 1);
        assert.deepEqual(await answers(ext.ns, n1.ip, term.nodePort!, 8), { "x/b": 8 });
        assert.deepEqual(await answers(c2.ns, term.clusterIP!, 80, 8), { "x/b": 8 });
        // only terminating backends left: they are used (as kube-proxy does)
        await applyServices(lab, manual("term", [{ ip: a.ip, ready: false, terminating: true }]));
        await waitFor("only the terminating backend is served", async () => {
          const s = await serviceOn(lab, "n1", "x/term");
          return s?.frontends.every((f) => f.backends.length === 1) ?? false;
        });
        assert.deepEqual(await answers(ext.ns, n2.ip, term.nodePort!, 4), { "x/a": 4 });
        // a backend added meanwhile does not move established flows either
        await applyServices(
          lab,
          manual("term", [{ ip: a.ip, ready: false, terminating: true }, {
            ip: b.ip,
          }, { ip: h.ip }]),
        );
        await waitFor("every node serves the added backend", async () => {
          for (const n of ["n1", "n2"]) {
            const s = await serviceOn(lab, n, "x/term");
            if (!s?.frontends.every((f) => f.backends.length === 3)) return false;
          }
          return true;
        });
        await grows("the long connections go on after it", "InSegs", await sum("InSegs"), 100);
      } finally {
        stop.abort();
        await Promise.allSettled(long);
      }
      for (const r of await Promise.all(long)) {
        assert.equal(r.failed, 0, JSON.stringify(r.firstFailures));
        assert.ok(r.ok > 100, `${r.ok} transactions`);
      }
    });

    await t.step("deleting a service stops serving it", async () => {
      await deleteServices(lab, manual("term", []));
      await waitFor("x/term is gone", async () => !(await serviceOn(lab, "n2", "x/term")));
      const web2 = await addresses(lab, "x/web");
      assert.deepEqual(only(await answers(c2.ns, web2.clusterIP!, 80, 6)).sort(), both);
    });
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
});

async function udpNodePort(lab: Lab, key: string): Promise<number | undefined> {
  const s = await serviceOn(lab, "n1", key);
  const f = s?.frontends.find((f) => f.kind === "NodePort" && f.frontend.endsWith("/UDP"));
  return f ? Number(/:(\d+)\/UDP$/.exec(f.frontend)![1]) : undefined;
}

async function healthCheckPort(lab: Lab): Promise<number> {
  using client = new ApiClient({ socket: lab.node("n1").socket });
  const status = await client.json<{ healthChecks: Array<{ port: number; service: string }> }>(
    "GET",
    "/v1/plugins/lb/status",
  );
  const hc = status.healthChecks.find((c) => c.service === "x/local");
  assert.ok(hc, `a health check for x/local: ${JSON.stringify(status.healthChecks)}`);
  return hc.port;
}
