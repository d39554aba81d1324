import assert from "node:assert/strict";
import { sleep, waitFor, withEtcd } from "./_testing.ts";

Deno.test("EtcdClient.grant() gives a lease whose expiry deletes its keys", async () => {
  await withEtcd(1, async (_cluster, connect) => {
    const etcd = connect();
    const lease = await etcd.grant(1);
    await etcd.put("/hypha/nodes/n1", "up", { lease });
    assert.equal((await etcd.get("/hypha/nodes/n1"))?.lease, lease);
    const info = await etcd.timeToLive(lease, { keys: true });
    assert.equal(info?.grantedTtl, 1);
    assert.deepEqual(info?.keys, ["/hypha/nodes/n1"]);

    await waitFor(
      "the leased key to expire",
      async () => !(await etcd.get("/hypha/nodes/n1")),
      5_000,
    );
    assert.equal(await etcd.timeToLive(lease), undefined);
    assert.equal(await etcd.keepAliveOnce(lease), 0);
  });
});

Deno.test("EtcdClient.keepAlive() keeps keys past the TTL and reports the lease lost once revoked", async () => {
  await withEtcd(1, async (_cluster, connect) => {
    const etcd = connect();
    const lease = await etcd.grant(1);
    await etcd.put("/hypha/nodes/n1", "up", { lease });
    const lost: string[] = [];
    const keeper = etcd.keepAlive(lease, { onLost: (_id, reason) => lost.push(reason) });
    await sleep(2_500); // 2.5 TTLs
    assert.equal((await etcd.get("/hypha/nodes/n1"))?.value, "up");
    assert.equal(keeper.ttl, 1);
    assert.deepEqual(lost, []);

    await etcd.revoke(lease);
    await waitFor("the keeper to notice", () => keeper.lost, 3_000);
    assert.deepEqual(lost, [`lease ${lease} expired or was revoked`]);
    assert.equal(keeper.stopped, true);
    assert.equal(await etcd.get("/hypha/nodes/n1"), undefined);
  });
});

Deno.test("EtcdClient.keepAlive() stops with close() and the lease then expires", async () => {
  await withEtcd(1, async (_cluster, connect) => {
    const etcd = connect();
    const lease = await etcd.grant(1);
    const keeper = etcd.keepAlive(lease);
    await sleep(1_200);
    assert.ok((await etcd.timeToLive(lease))?.ttl !== undefined);
    await etcd.close(); // stops the keeper with it
    assert.equal(keeper.stopped, true);
    assert.equal(keeper.lost, false);
    const other = connect();
    await waitFor("the lease to expire", async () => !(await other.timeToLive(lease)), 5_000);
  });
});

Deno.test("EtcdClient.revoke() deletes the lease's keys and accepts an unknown lease", async () => {
  await withEtcd(1, async (_cluster, connect) => {
    const etcd = connect();
    const lease = await etcd.grant(60);
    await etcd.put("/a", "1", { lease });
    await etcd.put("/b", "2", { lease });
    await etcd.revoke(lease);
    assert.deepEqual((await etcd.getPrefix("/")).kvs, []);
    await etcd.revoke(lease);
    await etcd.revoke(424242n);
  });
});

Deno.test("EtcdClient.keepAlive() keeps a lease alive while the member it talks to is killed", async () => {
  await withEtcd(3, async (cluster, connect) => {
    const etcd = connect();
    const lease = await etcd.grant(2);
    await etcd.put("/hypha/nodes/n1", "up", { lease });
    const lost: bigint[] = [];
    const keeper = etcd.keepAlive(lease, { onLost: (id) => lost.push(id) });
    await waitFor("the first keep-alive", () => keeper.ttl !== undefined);
    await cluster.kill(cluster.endpoints.indexOf(etcd.endpoint));
    await sleep(4_500); // more than two TTLs
    assert.equal((await etcd.get("/hypha/nodes/n1"))?.value, "up");
    assert.deepEqual(lost, []);
    assert.equal(keeper.lost, false);
  });
});
