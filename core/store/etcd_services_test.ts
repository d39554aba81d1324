// The etcd store's services against a real etcd: claims are taken with the service in one
// transaction (two nodes racing for one node port: exactly one wins), released when a service
// drops them or is deleted, and every store mirrors services, slices and rejections.
import assert from "node:assert/strict";
import { waitFor, withEtcd } from "../etcd/_testing.ts";
import type { EtcdClient } from "../etcd/mod.ts";
import { parseCidr } from "../ipam/cidr.ts";
import { createLogger } from "../log.ts";
import { ServiceClaimError, type ServiceOptions } from "../service/mod.ts";
import { createState, type State } from "../state/mod.ts";
import { EtcdStore } from "./etcd_store.ts";

const OPTIONS: ServiceOptions = {
  clusterIPRanges: [parseCidr("10.96.0.0/24")],
  nodePortRange: { min: 30000, max: 30099 },
};

async function nodes(endpoints: string[], n: number) {
  const out: Array<{ store: EtcdStore; state: State; dir: string }> = [];
  for (let i = 1; i <= n; i++) {
    const state = createState();
    const dir = await Deno.makeTempDir({ prefix: "hypha-store-" });
    const store = new EtcdStore({
      endpoints,
      prefix: "/hypha",
      leaseTTL: 10,
      timeoutMs: 3000,
      node: `n${i}`,
      cluster: "test",
      state,
      stateDir: dir,
      log: createLogger(`n${i}`, "error", () => {}),
      services: OPTIONS,
    });
    out.push({ store, state, dir });
  }
  return out;
}

async function stop(list: Array<{ store: EtcdStore; dir: string }>): Promise<void> {
  for (const n of list) {
    await n.store.stop();
    await Deno.remove(n.dir, { recursive: true });
  }
}

const service = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name },
  spec: { type: "NodePort", selector: { app: name }, ...spec },
});

async function claims(client: EtcdClient): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const prefix of ["serviceips/", "nodeports/"]) {
    for (const kv of (await client.getPrefix(`/hypha/test/${prefix}`)).kvs) {
      out[kv.key.slice("/hypha/test/".length)] = kv.value;
    }
  }
  return out;
}

Deno.test("EtcdStore.putService() lets exactly one of two racing nodes take a node port", async () => {
  await withEtcd(1, async (cluster) => {
    const list = await nodes(cluster.endpoints, 2);
    const [a, b] = list.map((n) => n.store);
    try {
      for (let round = 0; round < 5; round++) {
        const port = 30010 + round;
        const results = await Promise.allSettled([
          a!.putService(
            `default/a${round}`,
            service(`a${round}`, {
              clusterIP: `10.96.0.${10 + round}`,
              ports: [{ port: 80, nodePort: port }],
            }),
          ),
          b!.putService(
            `default/b${round}`,
            service(`b${round}`, {
              clusterIP: `10.96.0.${50 + round}`,
              ports: [{ port: 80, nodePort: port }],
            }),
          ),
        ]);
        const won = results.findIndex((r) => r.status === "fulfilled");
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
        assert.equal(lost.length, 1, `round ${round}: ${JSON.stringify(results)}`);
        const err = lost[0]!.reason;
        assert.ok(err instanceof ServiceClaimError, String(err));
        assert.deepEqual(err.conflicts, [{
          claim: { kind: "nodePort", protocol: "TCP", port },
          holder: won === 0 ? `default/a${round}` : `default/b${round}`,
        }]);
      }
    } finally {
      await stop(list);
    }
  });
});

Deno.test("EtcdStore services: claims follow the service and every node mirrors it", async () => {
  await withEtcd(1, async (cluster, connect) => {
    const list = await nodes(cluster.endpoints, 2);
    const [a, b] = list;
    const raw = connect();
    try {
      await b!.store.start();
      await b!.store.synced;
      await a!.store.putService(
        "default/web",
        service("web", {
          clusterIP: "10.96.0.10",
          externalTrafficPolicy: "Local",
          healthCheckNodePort: 30050,
          ports: [
            { name: "http", port: 80, nodePort: 30080 },
            { name: "dns", port: 53, protocol: "UDP", nodePort: 30053 },
          ],
        }),
      );
      assert.deepEqual(await claims(raw), {
        "serviceips/10.96.0.10": "default/web",
        "nodeports/TCP/30050": "default/web",
        "nodeports/TCP/30080": "default/web",
        "nodeports/UDP/30053": "default/web",
      });
      // a re-apply that drops a port and moves the address releases what it no longer holds
      await a!.store.putService(
        "default/web",
        service("web", { clusterIP: "10.96.0.11", ports: [{ port: 80, nodePort: 30080 }] }),
      );
      assert.deepEqual(await claims(raw), {
        "serviceips/10.96.0.11": "default/web",
        "nodeports/TCP/30080": "default/web",
      });
      assert.deepEqual(
        (await a!.store.storedService("default/web") as { spec: { clusterIP: string } }).spec
          .clusterIP,
        "10.96.0.11",
      );
      await waitFor(
        "node 2 to mirror the service",
        () => b!.state.services.get("default/web")?.service.clusterIPs[0] === "10.96.0.11",
      );
      await a!.store.putEndpointSlice("default/web-1", {
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: { name: "web-1", labels: { "kubernetes.io/service-name": "web" } },
        addressType: "IPv4",
        endpoints: [{ addresses: ["10.244.1.5"] }],
        ports: [{ port: 8080 }],
      });
      await waitFor("node 2 to mirror the slice", () => b!.state.endpointSlices.size === 1);
      // the address it let go is free for another service
      await a!.store.putService(
        "default/db",
        service("db", { clusterIP: "10.96.0.10", ports: [{ port: 5432, nodePort: 30054 }] }),
      );
      assert.equal(typeof await a!.store.deleteService("default/web"), "number");
      assert.equal(await a!.store.deleteService("default/web"), undefined);
      assert.equal(typeof await a!.store.deleteEndpointSlice("default/web-1"), "number");
      assert.equal(await a!.store.deleteEndpointSlice("default/web-1"), undefined);
      assert.deepEqual(await claims(raw), {
        "serviceips/10.96.0.10": "default/db",
        "nodeports/TCP/30054": "default/db",
      });
      await waitFor(
        "node 2 to drop the service and the slice",
        () => !b!.state.services.get("default/web") && b!.state.endpointSlices.size === 0,
      );
      assert.equal(b!.state.services.get("default/db")?.service.ports[0]?.nodePort, 30054);
    } finally {
      await stop(list);
    }
  });
});

Deno.test("EtcdStore reports a service written around the API as rejected", async () => {
  await withEtcd(1, async (cluster, connect) => {
    const list = await nodes(cluster.endpoints, 1);
    const [a] = list;
    const raw = connect();
    try {
      await raw.put(
        "/hypha/test/services/default/bad",
        JSON.stringify(service("bad", { clusterIP: "10.1.0.1", ports: [{ port: 80 }] })),
      );
      await raw.put("/hypha/test/endpointslices/default/junk", "{not json");
      await a!.store.start();
      await a!.store.synced;
      assert.equal(a!.state.services.size, 0);
      assert.deepEqual(a!.state.rejected.get("Service/default/bad"), {
        kind: "Service",
        namespace: "default",
        name: "bad",
        source: "/hypha/test/services/default/bad",
        issues: [{
          path: "spec.clusterIP",
          message: `Cluster IP "10.1.0.1" is outside the cluster IP range 10.96.0.0/24 ` +
            "(services.clusterIPRange)",
        }],
      });
      assert.match(
        a!.state.rejected.get("EndpointSlice/default/junk")?.issues[0]?.message ?? "",
        /^Invalid JSON: /,
      );
      // fixed: accepted, and no longer rejected
      await raw.put(
        "/hypha/test/services/default/bad",
        JSON.stringify(service("bad", { clusterIP: "10.96.0.1", ports: [{ port: 80 }] })),
      );
      await raw.delete("/hypha/test/endpointslices/default/junk");
      await waitFor(
        "the fixed service",
        () => a!.state.services.size === 1 && a!.state.rejected.size === 0,
      );
      // a claim left behind by a service that no longer exists is taken over
      await raw.put("/hypha/test/nodeports/TCP/30077", "default/gone");
      await a!.store.putService(
        "default/web",
        service("web", { clusterIP: "10.96.0.9", ports: [{ port: 80, nodePort: 30077 }] }),
      );
      assert.equal((await raw.get("/hypha/test/nodeports/TCP/30077"))?.value, "default/web");
    } finally {
      await stop(list);
    }
  });
});
