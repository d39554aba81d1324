// computeFrontends(): kube-proxy's semantics as pure data, without a kernel.
import assert from "node:assert/strict";
import type { EndpointRecord } from "../../core/state/mod.ts";
import type { EndpointSlice, Service } from "../../core/service/model.ts";
import { computeFrontends, type FrontendInput } from "./frontends.ts";

function svc(
  name: string,
  extra: Partial<Service> = {},
  opts: { noSelector?: boolean } = {},
): Service {
  const s: Service = {
    namespace: "x",
    name,
    type: "ClusterIP",
    clusterIPs: ["10.96.0.10"],
    headless: false,
    selector: { app: "web" },
    ports: [{ name: "", protocol: "TCP", port: 80, targetPort: 8080 }],
    externalIPs: [],
    loadBalancerIPs: [],
    loadBalancerSourceRanges: [],
    externalTrafficPolicy: "Cluster",
    internalTrafficPolicy: "Cluster",
    annotations: {},
    ...extra,
  };
  if (opts.noSelector) delete s.selector;
  return s;
}

function ep(node: string, ip: string, extra: Partial<EndpointRecord> = {}): EndpointRecord {
  return {
    node,
    id: Number(ip.split(".")[3]),
    containerId: `c${ip}`,
    ifname: "eth0",
    namespace: "x",
    pod: `p${ip.split(".")[3]}`,
    labels: { app: "web" },
    identity: 300,
    ips: [ip],
    ...extra,
  };
}

function input(extra: Partial<FrontendInput>): FrontendInput {
  return {
    node: "n1",
    nodeAddresses: ["192.168.0.11"],
    services: [],
    slices: [],
    endpoints: [],
    defaultAlgorithm: "random",
    ...extra,
  };
}

const slice = (
  service: string,
  endpoints: EndpointSlice["endpoints"],
  port = 8080,
): EndpointSlice => ({
  namespace: "x",
  name: `${service}-1`,
  service,
  addressType: "IPv4",
  ports: [{ name: "", protocol: "TCP", port }],
  endpoints,
});

const sliceEp = (ip: string, c: Partial<EndpointSlice["endpoints"][0]> = {}) => ({
  addresses: [ip],
  ready: true,
  serving: true,
  terminating: false,
  ...c,
});

Deno.test("computeFrontends() takes selector services' backends from matching endpoints", () => {
  const { frontends } = computeFrontends(input({
    services: [svc("web")],
    endpoints: [
      ep("n1", "10.244.0.2"),
      ep("n2", "10.244.1.2"),
      ep("n2", "10.244.1.3", { labels: { app: "other" } }),
      ep("n2", "10.244.1.4", { namespace: "y" }),
    ],
  }));
  assert.equal(frontends.length, 1);
  const f = frontends[0]!;
  assert.equal(f.key, "10.96.0.10:80/TCP");
  assert.deepEqual(f.backends.map((b) => [b.ip, b.port, b.active, b.local]), [
    ["10.244.0.2", 8080, true, true],
    ["10.244.1.2", 8080, true, false],
  ]);
  assert.ok(f.socket && !f.external);
});

Deno.test("computeFrontends() resolves named target ports per endpoint", () => {
  const { frontends } = computeFrontends(input({
    services: [
      svc("web", { ports: [{ name: "", protocol: "TCP", port: 80, targetPort: "http" }] }),
    ],
    endpoints: [
      ep("n1", "10.244.0.2", { namedPorts: { http: { port: 9000, protocol: "TCP" } } }),
      ep("n1", "10.244.0.3", { namedPorts: { http: { port: 9001, protocol: "TCP" } } }),
      ep("n1", "10.244.0.4"), // no such port: not a backend
    ],
  }));
  assert.deepEqual(frontends[0]!.backends.map((b) => `${b.ip}:${b.port}`), [
    "10.244.0.2:9000",
    "10.244.0.3:9001",
  ]);
});

Deno.test("computeFrontends() uses terminating backends only when nothing is ready", () => {
  const term = sliceEp("10.244.0.9", { ready: false, serving: true, terminating: true });
  const withReady = computeFrontends(input({
    services: [svc("web", {}, { noSelector: true })],
    slices: [slice("web", [sliceEp("10.244.0.2"), term])],
  }));
  assert.deepEqual(
    withReady.frontends[0]!.backends.map((b) => [b.ip, b.active]),
    [["10.244.0.2", true], ["10.244.0.9", false]],
  );
  const onlyTerminating = computeFrontends(input({
    services: [svc("web", {}, { noSelector: true })],
    slices: [slice("web", [term, sliceEp("10.244.0.8", { ready: false, serving: false })])],
  }));
  assert.deepEqual(
    onlyTerminating.frontends[0]!.backends.filter((b) => b.active).map((b) => b.ip),
    ["10.244.0.9"],
  );
});

Deno.test("computeFrontends() serves NodePort on this node's addresses, LB and external IPs", () => {
  const { frontends } = computeFrontends(input({
    services: [svc("web", {
      type: "LoadBalancer",
      ports: [{ name: "", protocol: "TCP", port: 80, targetPort: 8080, nodePort: 30080 }],
      loadBalancerIPs: ["192.0.2.10"],
      externalIPs: ["192.0.2.20"],
      loadBalancerSourceRanges: ["198.51.100.0/24"],
    })],
    endpoints: [ep("n1", "10.244.0.2")],
  }));
  assert.deepEqual(frontends.map((f) => [f.key, f.kind, f.external, f.socket]), [
    ["10.96.0.10:80/TCP", "ClusterIP", false, true],
    ["192.0.2.10:80/TCP", "LoadBalancer", true, false], // source ranges: per packet only
    ["192.0.2.20:80/TCP", "ExternalIP", true, true],
    ["192.168.0.11:30080/TCP", "NodePort", true, true],
  ]);
  assert.deepEqual(frontends[1]!.sourceRanges, ["198.51.100.0/24"]);
});

Deno.test("computeFrontends() applies Local traffic policies per frontend", () => {
  const { frontends } = computeFrontends(input({
    services: [svc("web", {
      type: "NodePort",
      ports: [{ name: "", protocol: "TCP", port: 80, targetPort: 8080, nodePort: 30080 }],
      externalTrafficPolicy: "Local",
      internalTrafficPolicy: "Local",
    })],
    endpoints: [ep("n2", "10.244.1.2")],
  }));
  for (const f of frontends) {
    assert.equal(f.backends.length, 0, f.key);
    assert.ok(f.dropWhenEmpty, `${f.key}: backends elsewhere, so drop rather than refuse`);
  }
  const none = computeFrontends(input({ services: [svc("web")], endpoints: [] }));
  assert.equal(none.frontends[0]!.dropWhenEmpty, false, "no backend anywhere: refuse");
});

Deno.test("computeFrontends() reports orphan slices and frontends two services claim", () => {
  const { frontends, problems } = computeFrontends(input({
    services: [
      svc("a", { externalIPs: ["192.0.2.20"] }),
      svc("b", { clusterIPs: ["10.96.0.11"], externalIPs: ["192.0.2.20"] }),
    ],
    slices: [slice("ghost", [sliceEp("10.244.0.2")])],
  }));
  assert.deepEqual(problems, [
    {
      object: "EndpointSlice x/ghost-1",
      path: 'metadata.labels["kubernetes.io/service-name"]',
      message: 'service "x/ghost" does not exist',
    },
    {
      object: "Service x/b",
      path: "spec.externalIPs",
      message: "192.0.2.20:80/TCP is already served for ExternalIP x/a: ignored here",
    },
  ]);
  assert.equal(frontends.filter((f) => f.ip === "192.0.2.20").length, 1);
});

Deno.test("computeFrontends() serves a local pod's host ports on the node's addresses", () => {
  const { frontends } = computeFrontends(input({
    endpoints: [
      ep("n1", "10.244.0.2", {
        hostPorts: [{ hostPort: 9000, containerPort: 8080, protocol: "TCP" }],
      }),
      ep("n2", "10.244.1.2", {
        hostPorts: [{ hostPort: 9000, containerPort: 8080, protocol: "TCP" }],
      }),
    ],
  }));
  assert.deepEqual(frontends.map((f) => [f.key, f.kind, f.backends.map((b) => b.ip)]), [
    ["192.168.0.11:9000/TCP", "HostPort", ["10.244.0.2"]],
  ]);
});

Deno.test("computeFrontends() leaves headless and ExternalName services without frontends", () => {
  const { frontends } = computeFrontends(input({
    services: [
      svc("h", { headless: true, clusterIPs: [] }),
      svc("e", { type: "ExternalName", clusterIPs: [] }),
    ],
    endpoints: [ep("n1", "10.244.0.2")],
  }));
  assert.deepEqual(frontends, []);
});
