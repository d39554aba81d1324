import assert from "node:assert/strict";
import { parseCidr } from "../ipam/cidr.ts";
import type { ServiceOptions } from "./options.ts";
import { resolveServiceManifests, type SourcedManifest } from "./resolve.ts";

const OPTS: ServiceOptions = {
  clusterIPRanges: [parseCidr("10.96.0.0/24")],
  nodePortRange: { min: 30000, max: 30099 },
};

const svc = (name: string, spec: Record<string, unknown> = {}, source = `${name}.yaml`) => ({
  manifest: {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name },
    spec: { ports: [{ port: 80 }], ...spec },
  },
  source,
});

Deno.test("resolveServiceManifests() allocates the same addresses whatever the file order", () => {
  const dir = [svc("c"), svc("a", { type: "NodePort" }), svc("b", { clusterIP: "10.96.0.50" })];
  const one = resolveServiceManifests(dir, [], OPTS);
  const two = resolveServiceManifests([...dir].reverse(), [], OPTS);
  assert.deepEqual([...one.services.keys()].sort(), ["default/a", "default/b", "default/c"]);
  for (const key of one.services.keys()) {
    assert.deepEqual(one.services.get(key)!.service, two.services.get(key)!.service);
  }
  assert.deepEqual(one.services.get("default/b")!.service.clusterIPs, ["10.96.0.50"]);
  assert.equal(typeof one.services.get("default/a")!.service.ports[0]!.nodePort, "number");
  assert.equal(one.rejected.size, 0);
});

Deno.test("resolveServiceManifests() lets set values win over allocated ones", () => {
  // Whichever address "a" would hash to, a later service that sets it keeps it.
  const first = resolveServiceManifests([svc("a")], [], OPTS);
  const taken = first.services.get("default/a")!.service.clusterIPs[0]!;
  const r = resolveServiceManifests([svc("a"), svc("z", { clusterIP: taken })], [], OPTS);
  assert.deepEqual(r.services.get("default/z")!.service.clusterIPs, [taken]);
  assert.notEqual(r.services.get("default/a")!.service.clusterIPs[0], taken);
});

Deno.test("resolveServiceManifests() rejects conflicts, duplicates and bad manifests", () => {
  const r = resolveServiceManifests(
    [
      svc("a", { clusterIP: "10.96.0.9" }),
      svc("b", { clusterIP: "10.96.0.9" }),
      svc("a", {}, "again.yaml document 2"),
      svc("bad", { type: "Nope" }),
      {
        manifest: {
          apiVersion: "discovery.k8s.io/v1",
          kind: "EndpointSlice",
          metadata: { name: "s" },
        },
        source: "s.yaml",
      },
    ],
    [],
    OPTS,
  );
  assert.deepEqual([...r.services.keys()], ["default/a"]);
  assert.deepEqual(Object.fromEntries(r.rejected), {
    "Service/default/a": {
      kind: "Service",
      namespace: "default",
      name: "a",
      source: "again.yaml document 2",
      issues: [{
        path: "metadata.name",
        message: "Service default/a is defined twice: also in a.yaml",
      }],
    },
    "Service/default/b": {
      kind: "Service",
      namespace: "default",
      name: "b",
      source: "b.yaml",
      issues: [{
        path: "spec.clusterIP",
        message: `Cluster IP "10.96.0.9" is already allocated to service default/a`,
      }],
    },
    "Service/default/bad": {
      kind: "Service",
      namespace: "default",
      name: "bad",
      source: "bad.yaml",
      issues: [{
        path: "spec.type",
        message: `Must be "ClusterIP", "NodePort", "LoadBalancer" or "ExternalName", got "Nope"`,
      }],
    },
    "EndpointSlice/default/s": {
      kind: "EndpointSlice",
      namespace: "default",
      name: "s",
      source: "s.yaml",
      issues: [
        {
          path: 'metadata.labels["kubernetes.io/service-name"]',
          message: `Label "kubernetes.io/service-name" is required: it names the slice's service`,
        },
        { path: "addressType", message: `Field "addressType" is required` },
      ],
    },
  });
});

Deno.test("resolveServiceManifests() lets applied objects replace the directory's", () => {
  const slice = (port: number): SourcedManifest => ({
    manifest: {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: "a-1", labels: { "kubernetes.io/service-name": "a" } },
      addressType: "IPv4",
      endpoints: [{ addresses: ["10.244.0.5"] }],
      ports: [{ port }],
    },
    source: "slice",
  });
  const r = resolveServiceManifests(
    [svc("a", { clusterIP: "10.96.0.9" }), slice(80)],
    [
      svc("a", { clusterIP: "10.96.0.10" }, "admin API"),
      slice(8080),
      svc("b", {
        clusterIP: "10.96.0.10",
      }, "admin API"),
    ],
    OPTS,
  );
  assert.deepEqual(r.services.get("default/a")!.service.clusterIPs, ["10.96.0.10"]);
  assert.equal(r.slices.get("default/a-1")!.ports[0]!.port, 8080);
  assert.deepEqual(r.rejected.get("Service/default/b")!.issues, [{
    path: "spec.clusterIP",
    message: `Cluster IP "10.96.0.10" is already allocated to service default/a`,
  }]);
});
