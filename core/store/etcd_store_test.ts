// The etcd store's identity allocation against a real etcd: agents racing for the same label
// sets end with one number per set and no number for two sets; unused identities are
// garbage-collected, referenced ones stay.
import assert from "node:assert/strict";
import { waitFor, withEtcd } from "../etcd/_testing.ts";
import { createLogger } from "../log.ts";
import { createState } from "../state/mod.ts";
import { EtcdStore } from "./etcd_store.ts";
import { sha256 } from "./etcd_identities.ts";
import { labelsKey } from "../identity/labels.ts";

async function stores(endpoints: string[], n: number, state = () => createState()) {
  const out: EtcdStore[] = [];
  for (let i = 1; i <= n; i++) {
    out.push(
      new EtcdStore({
        endpoints,
        prefix: "/hypha",
        leaseTTL: 10,
        timeoutMs: 3000,
        node: `n${i}`,
        cluster: "test",
        state: state(),
        stateDir: await Deno.makeTempDir({ prefix: "hypha-store-" }),
        log: createLogger(`n${i}`, "error", () => {}),
      }),
    );
  }
  return out;
}

Deno.test("EtcdStore.identityFor() gives racing nodes one number per label set, never two sets one number", async () => {
  await withEtcd(1, async (cluster) => {
    const nodes = await stores(cluster.endpoints, 3);
    try {
      const sets = Array.from(
        { length: 12 },
        (_, i) => ({ "k8s:app": `app${i % 6}`, "k8s:v": `${i % 4}` }),
      );
      // every node allocates every set at once
      const results = await Promise.all(
        nodes.map((s) => Promise.all(sets.map((labels) => s.identityFor(labels)))),
      );
      for (const [i] of sets.entries()) {
        const ids = new Set(results.map((r) => r[i]));
        assert.equal(ids.size, 1, `set ${i} got ${[...ids]}`);
      }
      const byId = new Map<number, string>();
      for (const [i, labels] of sets.entries()) {
        const id = results[0]![i]!;
        const key = JSON.stringify(labels);
        assert.ok(
          !byId.has(id) || byId.get(id) === key,
          `identity ${id} was given to two label sets`,
        );
        byId.set(id, key);
        assert.ok(id >= 256);
      }
    } finally {
      for (const s of nodes) await s.stop();
    }
  });
});

Deno.test("EtcdStore.collectIdentities() removes identities no node references, after two rounds", async () => {
  await withEtcd(1, async (cluster) => {
    const [a, b] = await stores(cluster.endpoints, 2);
    try {
      await a!.register(
        { name: "n1", cluster: "test", addresses: ["192.0.2.1"], instance: "i1" },
        [],
      );
      const used = await a!.identityFor({ "k8s:app": "used" });
      const unused = await a!.identityFor({ "k8s:app": "unused" });
      a!.useIdentities(new Set([used]));
      await new Promise((r) => setTimeout(r, 500)); // the reference is written in the background
      assert.deepEqual(await b!.collectIdentities(), [], "the first round only marks");
      assert.deepEqual(await b!.collectIdentities(), [unused]);
      assert.deepEqual(await b!.collectIdentities(), []);
      // the collected label set gets a fresh number when used again, the used one keeps its own
      assert.equal(await a!.identityFor({ "k8s:app": "used" }), used);
      const again = await b!.identityFor({ "k8s:app": "unused" });
      assert.ok(again !== used);
    } finally {
      await a!.stop();
      await b!.stop();
    }
  });
});

Deno.test("EtcdStore records written around hypha neither take a pod CIDR nor bend identities", async (t) => {
  await withEtcd(1, async (cluster, connect) => {
    const [a] = await stores(cluster.endpoints, 1);
    const raw = connect();
    try {
      await t.step(
        "a planted claim over two node CIDRs is skipped, junk claims ignored",
        async () => {
          await raw.put("/hypha/test/podcidrs/10.244.0.0_23", "evil");
          await raw.put("/hypha/test/podcidrs/junk", "n1");
          const cidrs = await a!.register(
            { name: "n1", cluster: "test", addresses: ["192.0.2.1"], instance: "i1" },
            [{ family: 4, pool: "10.244.0.0/16", maskSize: 24 }],
          );
          assert.deepEqual(cidrs, ["10.244.2.0/24"]);
        },
      );
      await t.step("an identity at the top of the range does not end allocation", async () => {
        await raw.put("/hypha/test/identities/id/16777215", JSON.stringify({ "k8s:app": "x" }));
        const id = await a!.identityFor({ "k8s:app": "web" });
        assert.ok(id >= 256 && id < 16777215, String(id));
      });
      await t.step("a label index entry that points elsewhere is refused, not used", async () => {
        const labels = { "k8s:app": "db" };
        await raw.put(`/hypha/test/identities/labels/${await sha256(labelsKey(labels))}`, "300");
        await raw.put("/hypha/test/identities/id/300", JSON.stringify({ "k8s:app": "other" }));
        await assert.rejects(
          a!.identityFor(labels),
          /Identity label index .* holds "300", which is not an identity with these labels/,
        );
        await raw.put(`/hypha/test/identities/labels/${await sha256(labelsKey(labels))}`, "x1");
        await assert.rejects(a!.identityFor(labels), /holds "x1"/);
      });
    } finally {
      await a!.stop();
    }
  });
});

Deno.test("EtcdStore.policyRevision moves with policy changes only", async () => {
  await withEtcd(1, async (cluster, connect) => {
    const state = createState();
    const [a] = await stores(cluster.endpoints, 1, () => state);
    const raw = connect();
    try {
      await a!.register(
        { name: "n1", cluster: "test", addresses: ["192.0.2.1"], instance: "i1" },
        [{ family: 4, pool: "10.244.0.0/16", maskSize: 24 }],
      );
      await a!.start();
      await a!.synced;
      const policy = { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy" };
      const revision = await a!.putPolicy("NetworkPolicy/x/p", policy);
      await waitFor("the policy's revision", () => a!.policyRevision === revision);
      // Keys that are no policy (a pod here) reach the tables but leave the policy revision at
      // the last policy change: the enforcer is never asked to catch up with them.
      const pod = await raw.put("/hypha/test/pods/x/a", JSON.stringify({ labels: { app: "a" } }));
      await waitFor("the pod record", () => state.pods.get("x/a") !== undefined);
      assert.equal(a!.policyRevision, revision);
      const deleted = await a!.deletePolicy("NetworkPolicy/x/p");
      assert.ok(deleted !== undefined && deleted > Number(pod.revision));
      await waitFor("the deletion's revision", () => a!.policyRevision === deleted);
    } finally {
      await a!.stop();
    }
  });
});
