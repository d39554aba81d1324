// The local store's services: the manifest directory's (allocated the same way on every node
// reading the same directory, bad ones rejected with their file and document) and those applied
// through the store API (persisted in the state directory, back after a restart).
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseCidr } from "../ipam/cidr.ts";
import { createLogger } from "../log.ts";
import { ServiceClaimError, type ServiceOptions } from "../service/mod.ts";
import { createState } from "../state/mod.ts";
import { LocalStore } from "./local_store.ts";

const OPTIONS: ServiceOptions = {
  clusterIPRanges: [parseCidr("10.96.0.0/24")],
  nodePortRange: { min: 30000, max: 30099 },
};

const MANIFESTS = `apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec:
  type: NodePort
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080 }]
---
apiVersion: v1
kind: Service
metadata: { name: broken }
spec: { ports: [{ port: 99999 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-1, namespace: shop, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
endpoints: [{ addresses: [10.244.0.5], nodeName: n1 }]
ports: [{ port: 8080 }]
`;

const temps: string[] = [];

async function tempDir(prefix: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  temps.push(dir);
  return dir;
}

async function removeTemps(): Promise<void> {
  for (const dir of temps.splice(0)) await Deno.remove(dir, { recursive: true });
}

async function open(manifests: string, stateDir?: string) {
  const state = createState();
  const store = new LocalStore({
    state,
    stateDir: stateDir ?? await tempDir("hypha-local-"),
    manifests,
    node: "n1",
    cluster: "test",
    log: createLogger("n1", "error", () => {}),
    services: OPTIONS,
  });
  await store.start();
  return { store, state };
}

Deno.test("LocalStore reads services and slices from the manifest directory", async () => {
  const dir = await tempDir("hypha-manifests-");
  await Deno.writeTextFile(join(dir, "web.yaml"), MANIFESTS);
  const a = await open(dir);
  const b = await open(dir);
  try {
    const web = a.state.services.get("shop/web")?.service;
    assert.ok(web, "the service is in the table");
    assert.equal(web.clusterIPs.length, 1);
    assert.equal(typeof web.ports[0]!.nodePort, "number");
    assert.deepEqual(b.state.services.get("shop/web")?.service, web, "the same on every node");
    assert.deepEqual(a.state.endpointSlices.get("shop/web-1")?.slice.endpoints[0]?.addresses, [
      "10.244.0.5",
    ]);
    assert.deepEqual(a.state.rejected.get("Service/default/broken"), {
      kind: "Service",
      namespace: "default",
      name: "broken",
      source: "web.yaml document 2",
      issues: [{ path: "spec.ports[0].port", message: "Must be 1-65535, got 99999" }],
    });
    // the directory's allocations are what a re-apply through the API keeps
    const stored = await a.store.storedService("shop/web") as { spec: { clusterIP: string } };
    assert.equal(stored.spec.clusterIP, web.clusterIPs[0]);
  } finally {
    await a.store.stop();
    await b.store.stop();
    await removeTemps();
  }
});

Deno.test("LocalStore keeps services applied through the API across restarts", async () => {
  const dir = await tempDir("hypha-manifests-");
  await Deno.writeTextFile(join(dir, "web.yaml"), MANIFESTS);
  const stateDir = await tempDir("hypha-local-");
  const api = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "api", namespace: "shop" },
    spec: { clusterIP: "10.96.0.77", selector: { app: "api" }, ports: [{ port: 443 }] },
  };
  const slice = {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: "api-1", namespace: "shop", labels: { "kubernetes.io/service-name": "api" } },
    addressType: "IPv4",
    endpoints: [{ addresses: ["10.244.0.9"] }],
    ports: [{ port: 8443 }],
  };
  const first = await open(dir, stateDir);
  try {
    const r = await first.store.putService("shop/api", api);
    assert.equal(typeof r, "number");
    await first.store.putEndpointSlice("shop/api-1", slice);
    assert.deepEqual(first.state.services.get("shop/api")?.service.clusterIPs, ["10.96.0.77"]);
    // a value the directory's service holds is refused, naming the holder
    const webIp = first.state.services.get("shop/web")!.service.clusterIPs[0]!;
    await assert.rejects(
      first.store.putService("shop/api2", {
        ...api,
        metadata: { name: "api2", namespace: "shop" },
        spec: { ...api.spec, clusterIP: webIp },
      }),
      (err: unknown) =>
        err instanceof ServiceClaimError &&
        err.message === `Service shop/api2: cluster IP "${webIp}" is held by service shop/web`,
    );
    assert.equal(first.state.services.get("shop/api2"), undefined);
  } finally {
    await first.store.stop();
  }
  const second = await open(dir, stateDir);
  try {
    assert.deepEqual(second.state.services.get("shop/api")?.service.clusterIPs, ["10.96.0.77"]);
    assert.equal(second.state.endpointSlices.get("shop/api-1")?.slice.service, "api");
    assert.equal(typeof await second.store.deleteService("shop/api"), "number");
    assert.equal(await second.store.deleteService("shop/api"), undefined);
    assert.equal(
      await second.store.deleteService("shop/web"),
      undefined,
      "a directory service stays until its file changes",
    );
    assert.equal(typeof await second.store.deleteEndpointSlice("shop/api-1"), "number");
    assert.equal(second.state.services.get("shop/api"), undefined);
    assert.equal(second.state.endpointSlices.get("shop/api-1"), undefined);
  } finally {
    await second.store.stop();
  }
  const third = await open(dir, stateDir);
  try {
    assert.equal(third.state.services.get("shop/api"), undefined, "the delete was persisted");
    assert.ok(third.state.services.get("shop/web"));
  } finally {
    await third.store.stop();
    await removeTemps();
  }
});
