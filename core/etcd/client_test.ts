import assert from "node:assert/strict";
import { freePorts, withEtcd } from "./_testing.ts";
import { EtcdClient } from "./client.ts";
import { EtcdError, GrpcCode } from "./errors.ts";
import { compare, op } from "./txn.ts";

Deno.test("EtcdClient.put(), get(), getPrefix() and delete() keep UTF-8 keys and values", async () => {
  await withEtcd(1, async (_cluster, connect) => {
    const etcd = connect();
    const first = await etcd.put("/hypha/nodes/n1", "clé ✓ 🙂");
    const second = await etcd.put("/hypha/nodes/n1", "v2");
    assert.ok(second.revision > first.revision);
    await etcd.put("/hypha/nodes/n2", "b");
    await etcd.put("/hypha/nodes0", "sibling, not under the prefix");

    const n1 = await etcd.get("/hypha/nodes/n1");
    assert.equal(n1?.value, "v2");
    assert.equal(n1?.createRevision, first.revision);
    assert.equal(n1?.modRevision, second.revision);
    assert.equal(n1?.version, 2n);
    assert.equal(n1?.lease, 0n);
    assert.equal(await etcd.get("/hypha/missing"), undefined);

    const listed = await etcd.getPrefix("/hypha/nodes/");
    assert.deepEqual(listed.kvs.map((kv) => [kv.key, kv.value]), [
      ["/hypha/nodes/n1", "v2"],
      ["/hypha/nodes/n2", "b"],
    ]);
    assert.ok(listed.revision >= second.revision);
    await etcd.put("/ключ", "значение ✓");
    assert.equal((await etcd.get("/ключ"))?.value, "значение ✓");

    assert.equal((await etcd.delete("/hypha/nodes/n2")).deleted, 1);
    assert.equal((await etcd.delete("/hypha/nodes/n2")).deleted, 0);
    assert.equal((await etcd.deletePrefix("/hypha/")).deleted, 2);
    assert.equal((await etcd.getPrefix("")).kvs.length, 1);
  });
});

Deno.test("EtcdClient.txn() lets exactly one of 10 contenders create a key", async () => {
  await withEtcd(1, async (_cluster, connect) => {
    const key = "/hypha/leader";
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) =>
      connect().txn({
        compare: [compare.createRevision(key, "=", 0n)],
        success: [op.put(key, `contender-${i}`)],
        failure: [op.get(key)],
      })));
    const winners = results.flatMap((r, i) => (r.succeeded ? [i] : []));
    assert.equal(winners.length, 1);
    const winner = `contender-${winners[0]}`;
    assert.equal((await connect().get(key))?.value, winner);
    for (const r of results.filter((r) => !r.succeeded)) {
      const [got] = r.responses;
      assert.equal(got?.type, "get");
      assert.equal(got?.type === "get" ? got.kvs[0]?.value : undefined, winner);
    }
  });
});

Deno.test("EtcdClient.txn() compares value, version and modRevision", async () => {
  await withEtcd(1, async (_cluster, connect) => {
    const etcd = connect();
    const { revision } = await etcd.put("/k", "a");
    await etcd.put("/other/1", "x");
    await etcd.put("/other/2", "y");
    const cases = [
      { cmp: compare.value("/k", "=", "a"), want: true },
      { cmp: compare.value("/k", "!=", "a"), want: false },
      { cmp: compare.value("/k", ">", "0"), want: true },
      { cmp: compare.version("/k", "=", 1n), want: true },
      { cmp: compare.version("/k", "<", 1n), want: false },
      { cmp: compare.modRevision("/k", "=", revision), want: true },
      { cmp: compare.modRevision("/k", ">", revision), want: false },
      { cmp: compare.createRevision("/k", "!=", 0n), want: true },
    ];
    for (const { cmp, want } of cases) {
      const res = await etcd.txn({ compare: [cmp] });
      assert.equal(res.succeeded, want, JSON.stringify(cmp, (_k, v) => String(v)));
    }
    const res = await etcd.txn({
      compare: [compare.value("/k", "=", "a")],
      success: [op.put("/k", "b"), op.delete("/other/", { prefix: true }), op.get("/k")],
    });
    assert.equal(res.succeeded, true);
    assert.deepEqual(res.responses.map((r) => r.type), ["put", "delete", "get"]);
    const [, deleted, read] = res.responses;
    assert.equal(deleted?.type === "delete" ? deleted.deleted : -1, 2);
    assert.equal(read?.type === "get" ? read.kvs[0]?.value : undefined, "b");
    assert.equal(res.revision, revision + 3n); // one revision for the whole txn
  });
});

Deno.test("EtcdClient reports etcd's refusals at once, without trying other endpoints", async () => {
  await withEtcd(1, async (_cluster, connect) => {
    const etcd = connect();
    const start = Date.now();
    const err = await etcd.put("/k", "v", { lease: 12345n }).catch((e) => e);
    assert.ok(err instanceof EtcdError);
    assert.equal(err.unavailable, false);
    assert.equal(err.code, GrpcCode.notFound);
    assert.match(err.message, /^etcd put "\/k": etcdserver: requested lease not found \(at http/);
    assert.ok(Date.now() - start < 1_000);
  });
});

Deno.test("EtcdClient fails with an unavailable EtcdError naming each endpoint when all are down", async () => {
  const ports = freePorts(2);
  const endpoints = ports.map((p) => `http://127.0.0.1:${p}`);
  await using etcd = new EtcdClient({ endpoints, timeoutMs: 1_000 });
  const start = Date.now();
  const err = await etcd.put("/hypha/x", "v").catch((e) => e);
  const elapsed = Date.now() - start;
  assert.ok(err instanceof EtcdError, String(err));
  assert.equal(err.unavailable, true);
  assert.equal(
    err.message,
    `etcd put "/hypha/x": no endpoint answered in 1000 ms (${endpoints[0]}: connection refused; ` +
      `${endpoints[1]}: connection refused)`,
  );
  assert.deepEqual(err.endpoints, endpoints);
  assert.ok(elapsed >= 900 && elapsed < 1_500, `took ${elapsed} ms`);
});

Deno.test("EtcdClient.status() describes the member behind an endpoint", async () => {
  await withEtcd(1, async (cluster, connect) => {
    const status = await connect().status(cluster.endpoints[0]);
    assert.equal(status.endpoint, cluster.endpoints[0]);
    assert.match(status.version, /^3\./);
    assert.equal(status.leader, status.memberId); // a single member leads itself
    assert.ok(status.memberId > 0n);
  });
});
