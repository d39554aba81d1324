// Applying, deleting and validating services through the API operations, against the local
// store and (for racing nodes) a real etcd.
import assert from "node:assert/strict";
import { withEtcd } from "../etcd/_testing.ts";
import { parseCidr } from "../ipam/cidr.ts";
import { createLogger } from "../log.ts";
import type { ServiceOptions } from "../service/mod.ts";
import { createState } from "../state/mod.ts";
import { EtcdStore } from "../store/etcd_store.ts";
import { LocalStore } from "../store/local_store.ts";
import {
  applyServices,
  deleteServices,
  type ServiceApiContext,
  ServicesConflictError,
  ServicesRejectedError,
  validateServiceText,
} from "./service_api.ts";

const OPTIONS: ServiceOptions = {
  clusterIPRanges: [parseCidr("10.96.0.0/24")],
  nodePortRange: { min: 30000, max: 30099 },
};

const svc = (name: string, spec: string) =>
  `apiVersion: v1\nkind: Service\nmetadata: { name: ${name} }\nspec: ${spec}\n`;
const slice = (name: string, service: string) =>
  `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n` +
  `metadata: { name: ${name}, labels: { kubernetes.io/service-name: ${service} } }\n` +
  `addressType: IPv4\nendpoints: [{ addresses: [10.244.0.5] }]\nports: [{ port: 8080 }]\n`;

async function withLocal(fn: (ctx: ServiceApiContext) => Promise<void>): Promise<void> {
  const stateDir = await Deno.makeTempDir({ prefix: "hypha-svcapi-" });
  const state = createState();
  const store = new LocalStore({
    state,
    stateDir,
    manifests: "",
    node: "n1",
    cluster: "test",
    log: createLogger("n1", "error", () => {}),
    services: OPTIONS,
  });
  await store.start();
  try {
    await fn({ store, state, options: OPTIONS });
  } finally {
    await store.stop();
    await Deno.remove(stateDir, { recursive: true });
  }
}

async function rejection<E extends Error>(p: Promise<unknown>, type: new (...a: never[]) => E) {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof type, String(err));
    return err;
  }
  assert.fail("expected an error");
}

Deno.test("applyServices() stores services and slices with their allocations", async () => {
  await withLocal(async (ctx) => {
    const text = [
      svc("web", "{ type: NodePort, selector: { app: web }, ports: [{ port: 80 }] }"),
      slice("web-1", "web"),
      slice("orphan-1", "nothing"),
    ].join("---\n");
    const r = await applyServices(ctx, text);
    assert.deepEqual(r.applied, [
      "Service/default/web",
      "EndpointSlice/default/web-1",
      "EndpointSlice/default/orphan-1",
    ]);
    const web = ctx.state.services.get("default/web")!.service;
    assert.deepEqual(r.services, [{
      key: "default/web",
      clusterIPs: web.clusterIPs,
      ports: [{ name: "", protocol: "TCP", port: 80, nodePort: web.ports[0]!.nodePort! }],
    }]);
    assert.equal(ctx.state.endpointSlices.size, 2, "a slice without its service is accepted");
    // re-applying the same text changes nothing
    const again = await applyServices(ctx, text);
    assert.deepEqual(again.services, r.services);
  });
});

Deno.test("applyServices() rejects all documents when any has a problem", async () => {
  await withLocal(async (ctx) => {
    const err = await rejection(
      applyServices(
        ctx,
        [
          svc("ok", "{ ports: [{ port: 80 }] }"),
          svc("bad", "{ ports: [{ port: 80, nodePort: 30001 }] }"),
          "kind: Deployment\n",
        ].join("---\n"),
      ),
      ServicesRejectedError,
    );
    assert.equal(err.status, 400);
    assert.deepEqual(err.issues, [
      {
        path: "[1].spec.ports[0].nodePort",
        message: `Must not be set for type "ClusterIP" (node ports are for NodePort and ` +
          "LoadBalancer services), got the number 30001",
      },
      { path: "[2].kind", message: `Must be "Service" or "EndpointSlice", got "Deployment"` },
    ]);
    assert.equal(ctx.state.services.size, 0);
  });
});

Deno.test("applyServices() reports every conflict as a 409 and stores nothing", async () => {
  await withLocal(async (ctx) => {
    await applyServices(
      ctx,
      svc(
        "db",
        "{ type: NodePort, clusterIP: 10.96.0.10, ports: [{ port: 5432, nodePort: 30032 }] }",
      ),
    );
    const err = await rejection(
      applyServices(
        ctx,
        [
          svc("fine", "{ ports: [{ port: 80 }] }"),
          svc("a", "{ clusterIP: 10.96.0.10, ports: [{ port: 80 }] }"),
          svc("b", "{ type: NodePort, ports: [{ port: 80, nodePort: 30032 }] }"),
        ].join("---\n"),
      ),
      ServicesConflictError,
    );
    assert.equal(err.status, 409);
    assert.deepEqual(err.issues, [
      {
        path: "[1].spec.clusterIP",
        message: `Cluster IP "10.96.0.10" is already allocated to service default/db`,
        holder: "default/db",
      },
      {
        path: "[2].spec.ports[0].nodePort",
        message: "Node port 30032/TCP is already allocated to service default/db",
        holder: "default/db",
      },
    ]);
    assert.deepEqual(ctx.state.services.list().map((r) => r.service.name), ["db"]);
    // one request may move a value from one service to another
    await applyServices(
      ctx,
      [
        svc(
          "db",
          "{ type: NodePort, clusterIP: 10.96.0.11, ports: [{ port: 5432, nodePort: 30033 }] }",
        ),
        svc(
          "b",
          "{ type: NodePort, clusterIP: 10.96.0.10, ports: [{ port: 80, nodePort: 30032 }] }",
        ),
      ].join("---\n"),
    );
    assert.equal(ctx.state.services.get("default/b")?.service.clusterIPs[0], "10.96.0.10");
  });
});

Deno.test("deleteServices() removes what a text names", async () => {
  await withLocal(async (ctx) => {
    await applyServices(
      ctx,
      [svc("web", "{ ports: [{ port: 80 }] }"), slice("web-1", "web")].join("---\n"),
    );
    const r = await deleteServices(
      ctx,
      [svc("web", "{}"), slice("web-1", "web"), svc("gone", "{}")].join("---\n"),
    );
    assert.deepEqual(r.deleted, ["Service/default/web", "EndpointSlice/default/web-1"]);
    assert.deepEqual(r.missing, ["Service/default/gone"]);
    assert.equal(ctx.state.services.size + ctx.state.endpointSlices.size, 0);
    const err = await rejection(
      deleteServices(ctx, "kind: Service\nmetadata: {}\n---\nkind: Pod\n"),
      ServicesRejectedError,
    );
    assert.deepEqual(err.issues.map((i) => i.path), ["[0].metadata.name", "[1].kind"]);
  });
});

Deno.test("validateServiceText() checks without storing or allocating", () => {
  assert.deepEqual(validateServiceText(svc("web", "{ ports: [{ port: 80 }] }"), OPTIONS), []);
  assert.deepEqual(validateServiceText(svc("web", "{ clusterIP: 10.1.0.1, ports: [] }"), OPTIONS), [
    {
      path: "spec.clusterIP",
      message: `Cluster IP "10.1.0.1" is outside the cluster IP range 10.96.0.0/24 ` +
        "(services.clusterIPRange)",
    },
    {
      path: "spec.ports",
      message: `At least one port is required (unless the service is headless, spec.clusterIP ` +
        `"None", or of type "ExternalName")`,
    },
  ]);
});

Deno.test("applyServices() on racing nodes: every service gets distinct values, then the range is full", async () => {
  const tiny: ServiceOptions = {
    clusterIPRanges: [parseCidr("10.96.0.0/29")],
    nodePortRange: { min: 30000, max: 30003 },
  };
  await withEtcd(1, async (cluster) => {
    const nodes: ServiceApiContext[] = [];
    const stateDirs: string[] = [];
    for (const name of ["n1", "n2"]) {
      stateDirs.push(await Deno.makeTempDir({ prefix: "hypha-svcapi-" }));
      const state = createState();
      const store = new EtcdStore({
        endpoints: cluster.endpoints,
        prefix: "/hypha",
        leaseTTL: 10,
        timeoutMs: 3000,
        node: name,
        cluster: "test",
        state,
        stateDir: stateDirs[stateDirs.length - 1]!,
        log: createLogger(name, "error", () => {}),
        services: tiny,
      });
      await store.start();
      await store.synced;
      nodes.push({ store, state, options: tiny });
    }
    try {
      const results = await Promise.all(
        ["a", "b", "c", "d"].map((name, i) =>
          applyServices(nodes[i % 2]!, svc(name, "{ type: NodePort, ports: [{ port: 80 }] }"))
        ),
      );
      const ips = results.map((r) => r.services[0]!.clusterIPs[0]);
      const ports = results.map((r) => r.services[0]!.ports[0]!.nodePort);
      assert.equal(new Set(ips).size, 4, `cluster IPs ${ips}`);
      assert.deepEqual([...ports].sort(), [30000, 30001, 30002, 30003]);
      const err = await rejection(
        applyServices(nodes[0]!, svc("e", "{ type: NodePort, ports: [{ port: 80 }] }")),
        ServicesConflictError,
      );
      assert.deepEqual(err.issues.map((i) => i.path), ["spec.ports[0].nodePort"]);
      assert.match(err.message, /No free node port left in 30000-30003/);
    } finally {
      for (const n of nodes) await n.store.stop();
      for (const dir of stateDirs) await Deno.remove(dir, { recursive: true });
    }
  });
});
