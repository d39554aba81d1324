import assert from "node:assert/strict";
import { parseCidr } from "../ipam/cidr.ts";
import { allocateService, type Allocation } from "./allocate.ts";
import { usageOf } from "./claims.ts";
import type { Service } from "./model.ts";
import type { ServiceOptions } from "./options.ts";

const OPTS: ServiceOptions = {
  clusterIPRanges: [parseCidr("10.96.0.0/24")],
  nodePortRange: { min: 30000, max: 30099 },
};
const DUAL: ServiceOptions = {
  ...OPTS,
  clusterIPRanges: [parseCidr("10.96.0.0/24"), parseCidr("fd00:96::/120")],
};

function svc(name: string, spec: Record<string, unknown>) {
  return { apiVersion: "v1", kind: "Service", metadata: { name }, spec };
}

function ok(a: Allocation) {
  if (!a.ok) assert.fail(a.issues.map((i) => `${i.path}: ${i.message}`).join("\n"));
  return a;
}

/** Allocates services one after another, each seeing the ones before. */
function allocateAll(docs: unknown[], opts = OPTS): Service[] {
  const out: Service[] = [];
  for (const manifest of docs) {
    out.push(ok(allocateService({ manifest, options: opts, usage: usageOf(out) })).service);
  }
  return out;
}

const nodePort = (name: string, extra: Record<string, unknown> = {}) =>
  svc(name, { type: "NodePort", ports: [{ port: 80 }], ...extra });

Deno.test("allocateService() writes every allocation into the manifest", () => {
  const doc = svc("web", {
    type: "LoadBalancer",
    externalTrafficPolicy: "Local",
    ports: [{ name: "http", port: 80 }, { name: "https", port: 443 }],
  });
  const a = ok(allocateService({ manifest: doc, options: OPTS, usage: new Map() }));
  const spec = a.manifest.spec as Record<string, unknown>;
  const ports = spec.ports as Array<{ nodePort: number }>;
  assert.equal(spec.clusterIP, a.service.clusterIPs[0]);
  assert.deepEqual(spec.clusterIPs, a.service.clusterIPs);
  assert.deepEqual(spec.ipFamilies, ["IPv4"]);
  assert.equal(typeof spec.healthCheckNodePort, "number");
  const used = [...ports.map((p) => p.nodePort), spec.healthCheckNodePort];
  assert.equal(new Set(used).size, 3, `distinct node ports: ${used}`);
  for (const n of used) assert.ok((n as number) >= 30000 && (n as number) <= 30099);
  const ip = parseCidr(`${spec.clusterIP}/32`).network;
  const offset = parseCidr("10.96.0.0/24").offsetOf(ip);
  assert.ok(offset >= 2n && offset <= 254n, `dynamic address ${ip} skips .0, .1 and .255`);
  assert.equal((doc.spec as Record<string, unknown>).clusterIP, undefined, "input untouched");
  assert.deepEqual(
    a.claims.map((c) => c.kind),
    ["clusterIP", "nodePort", "nodePort", "nodePort"],
  );
  const again = ok(allocateService({ manifest: doc, options: OPTS, usage: new Map() }));
  assert.deepEqual(again.manifest, a.manifest, "the same inputs give the same allocation");
});

Deno.test("allocateService() never hands out what another service holds", () => {
  const services = allocateAll(
    Array.from({ length: 45 }, (_, i) => nodePort(`s${i}`, { externalTrafficPolicy: "Local" })),
  );
  const ips = services.map((s) => s.clusterIPs[0]);
  const ports = services.flatMap((s) => [s.ports[0]!.nodePort, s.healthCheckNodePort]);
  assert.equal(new Set(ips).size, 45);
  assert.equal(new Set(ports).size, 90);
});

Deno.test("allocateService() reports values another service holds, with the holder", () => {
  const [other] = allocateAll([
    svc("other", {
      type: "NodePort",
      clusterIP: "10.96.0.10",
      externalTrafficPolicy: "Local",
      healthCheckNodePort: 30050,
      ports: [{ port: 80, nodePort: 30080 }],
    }),
  ]);
  const usage = usageOf([other!]);
  const a = allocateService({
    manifest: svc("web", {
      type: "NodePort",
      clusterIPs: ["10.96.0.10"],
      externalTrafficPolicy: "Local",
      healthCheckNodePort: 30050,
      ports: [
        { name: "a", port: 80, nodePort: 30080 },
        { name: "b", port: 80, protocol: "UDP", nodePort: 30080 },
      ],
    }),
    options: OPTS,
    usage,
  });
  assert.deepEqual(a, {
    ok: false,
    issues: [
      {
        path: "spec.clusterIPs[0]",
        message: `Cluster IP "10.96.0.10" is already allocated to service default/other`,
        holder: "default/other",
      },
      {
        path: "spec.ports[0].nodePort",
        message: "Node port 30080/TCP is already allocated to service default/other",
        holder: "default/other",
      },
      {
        path: "spec.healthCheckNodePort",
        message: "Node port 30050/TCP is already allocated to service default/other",
        holder: "default/other",
      },
    ],
  }, "30080/UDP is free: node ports are claimed per protocol");
});

Deno.test("allocateService() says when a range is full", async (t) => {
  const tiny: ServiceOptions = {
    clusterIPRanges: [parseCidr("10.96.0.0/29")],
    nodePortRange: { min: 30000, max: 30001 },
  };
  await t.step("cluster IPs: a /29 has 5 dynamic addresses", () => {
    const five = allocateAll(
      Array.from({ length: 5 }, (_, i) => svc(`s${i}`, { ports: [{ port: 80 }] })),
      tiny,
    );
    assert.deepEqual(
      five.map((s) => s.clusterIPs[0]).sort(),
      ["10.96.0.2", "10.96.0.3", "10.96.0.4", "10.96.0.5", "10.96.0.6"],
    );
    const a = allocateService({
      manifest: svc("sixth", { ports: [{ port: 80 }] }),
      options: tiny,
      usage: usageOf(five),
    });
    assert.deepEqual(a, {
      ok: false,
      issues: [{
        path: "spec.clusterIP",
        message: "No free cluster IP left in 10.96.0.0/29 (services.clusterIPRange): all 5 " +
          "dynamic addresses are allocated",
      }],
    });
    // the first address is not dynamic, but a manifest may take it
    ok(allocateService({
      manifest: svc("api", { clusterIP: "10.96.0.1", ports: [{ port: 443 }] }),
      options: tiny,
      usage: usageOf(five),
    }));
  });
  await t.step("node ports", () => {
    const a = allocateService({
      manifest: svc("web", {
        type: "NodePort",
        clusterIP: "10.96.0.2",
        ports: [{ name: "a", port: 80 }, { name: "b", port: 81 }, { name: "c", port: 82 }],
      }),
      options: tiny,
      usage: new Map(),
    });
    assert.deepEqual(a, {
      ok: false,
      issues: [{
        path: "spec.ports[2].nodePort",
        message: "No free node port left in 30000-30001 (services.nodePortRange): all 2 are " +
          "allocated",
      }],
    });
  });
});

Deno.test("allocateService() keeps a re-applied service's allocations", async (t) => {
  const first = ok(allocateService({
    manifest: nodePort("web", { externalTrafficPolicy: "Local" }),
    options: OPTS,
    usage: new Map(),
  })).service;
  // Others took addresses since; the service's own claims do not count against it.
  const others = allocateAll(Array.from({ length: 20 }, (_, i) => nodePort(`o${i}`)));
  const usage = usageOf([first, ...others]);
  await t.step("the same manifest keeps everything", () => {
    const again = ok(allocateService({
      manifest: nodePort("web", { externalTrafficPolicy: "Local" }),
      options: OPTS,
      usage,
      previous: first,
    }));
    assert.deepEqual(again.service, first);
  });
  await t.step("a changed manifest keeps what it does not set", () => {
    const changed = ok(allocateService({
      manifest: svc("web", {
        type: "NodePort",
        externalTrafficPolicy: "Local",
        ports: [{ name: "http", port: 80 }, { name: "admin", port: 9090 }],
      }),
      options: OPTS,
      usage,
      previous: first,
    })).service;
    assert.deepEqual(changed.clusterIPs, first.clusterIPs);
    assert.equal(changed.ports[0]!.nodePort, first.ports[0]!.nodePort, "matched by port");
    assert.equal(changed.healthCheckNodePort, first.healthCheckNodePort);
    assert.ok(changed.ports[1]!.nodePort !== undefined);
  });
  await t.step("values the manifest sets win", () => {
    const moved = ok(allocateService({
      manifest: nodePort("web", {
        clusterIP: "10.96.0.200",
        ports: [{ port: 80, nodePort: 30099 }],
      }),
      options: OPTS,
      usage,
      previous: first,
    })).service;
    assert.deepEqual(moved.clusterIPs, ["10.96.0.200"]);
    assert.equal(moved.ports[0]!.nodePort, 30099);
    assert.equal(moved.healthCheckNodePort, undefined, "externalTrafficPolicy is Cluster now");
  });
  await t.step("a ClusterIP service keeps no node ports", () => {
    const plain = ok(allocateService({
      manifest: svc("web", { ports: [{ port: 80 }] }),
      options: OPTS,
      usage,
      previous: first,
    })).service;
    assert.deepEqual(plain.ports[0]!.nodePort, undefined);
    assert.deepEqual(plain.clusterIPs, first.clusterIPs);
  });
});

Deno.test("allocateService() gives dual-stack services an address per family", async (t) => {
  const alloc = (spec: Record<string, unknown>, previous?: Service) =>
    ok(allocateService({
      manifest: svc("web", { ports: [{ port: 80 }], ...spec }),
      options: DUAL,
      usage: new Map(),
      ...(previous ? { previous } : {}),
    }));
  await t.step("SingleStack gets the primary family", () => {
    assert.deepEqual(alloc({}).manifest.spec, {
      ports: [{ port: 80 }],
      clusterIP: alloc({}).service.clusterIPs[0],
      clusterIPs: alloc({}).service.clusterIPs,
      ipFamilies: ["IPv4"],
    });
  });
  await t.step("ipFamilies picks and orders the families", () => {
    const v6 = alloc({ ipFamilies: ["IPv6"] });
    assert.match(v6.service.clusterIPs[0]!, /^fd00:96::/);
    const both = alloc({ ipFamilies: ["IPv6", "IPv4"], ipFamilyPolicy: "RequireDualStack" });
    const spec = both.manifest.spec as Record<string, string[]>;
    assert.deepEqual(spec.ipFamilies, ["IPv6", "IPv4"]);
    assert.match(spec.clusterIPs![0]!, /^fd00:96::/);
    assert.match(spec.clusterIPs![1]!, /^10\.96\.0\./);
  });
  await t.step("PreferDualStack adds the other family and keeps the one it had", () => {
    const single = alloc({}).service;
    const dual = alloc({ ipFamilyPolicy: "PreferDualStack" }, single).service;
    assert.equal(dual.clusterIPs.length, 2);
    assert.equal(dual.clusterIPs[0], single.clusterIPs[0]);
    const onV4Cluster = ok(allocateService({
      manifest: svc("web", { ports: [{ port: 80 }], ipFamilyPolicy: "PreferDualStack" }),
      options: OPTS,
      usage: new Map(),
    }));
    assert.equal(onV4Cluster.service.clusterIPs.length, 1, "preferred, not required");
  });
  await t.step("a set address of one family, the other allocated", () => {
    const a = alloc({ clusterIP: "fd00:96::99", ipFamilyPolicy: "PreferDualStack" });
    assert.equal(a.service.clusterIPs[1], "fd00:96::99");
    assert.deepEqual((a.manifest.spec as Record<string, unknown>).ipFamilies, ["IPv6", "IPv4"]);
  });
});

Deno.test("allocateService() node port rules", async (t) => {
  await t.step("TCP and UDP ports of one number share a node port", () => {
    const [dns] = allocateAll([
      svc("dns", {
        type: "NodePort",
        ports: [{ name: "udp", port: 53, protocol: "UDP" }, { name: "tcp", port: 53 }],
      }),
    ]);
    assert.equal(dns!.ports[0]!.nodePort, dns!.ports[1]!.nodePort);
  });
  await t.step("LoadBalancer services may opt out of node ports", () => {
    const [lb] = allocateAll([
      svc("lb", {
        type: "LoadBalancer",
        allocateLoadBalancerNodePorts: false,
        ports: [{ port: 80 }],
      }),
    ]);
    assert.equal(lb!.ports[0]!.nodePort, undefined);
  });
  await t.step("fill: false only checks", () => {
    const a = ok(
      allocateService({ manifest: nodePort("web"), options: OPTS, usage: new Map(), fill: false }),
    );
    assert.deepEqual(a.service.clusterIPs, []);
    assert.equal(a.service.ports[0]!.nodePort, undefined);
  });
  await t.step("headless and ExternalName services get nothing", () => {
    const [h, e] = allocateAll([
      svc("h", { clusterIP: "None" }),
      svc("e", { type: "ExternalName", externalName: "db.example" }),
    ]);
    assert.deepEqual([h!.clusterIPs, e!.clusterIPs], [[], []]);
  });
  await t.step("an invalid manifest is a caller error", () => {
    assert.throws(
      () => allocateService({ manifest: svc("web", {}), options: OPTS, usage: new Map() }),
      /allocateService\(\) needs a valid Service: spec.ports: At least one port/,
    );
  });
});
