// Tests of the lab's etcd harness (tests/lab/etcd.ts), which the client tests rely on.
import assert from "node:assert/strict";
import { EtcdCluster } from "../../tests/lab/etcd.ts";
import { freePorts } from "./_testing.ts";
import { EtcdClient } from "./client.ts";
import { EtcdError } from "./errors.ts";

async function tempDir(): Promise<string> {
  const shm = await Deno.stat("/dev/shm").then((s) => s.isDirectory, () => false);
  return await Deno.makeTempDir({ prefix: "hypha-etcd-", ...(shm ? { dir: "/dev/shm" } : {}) });
}

Deno.test("EtcdCluster.start() runs clusters side by side and close() removes their data", async () => {
  const dirs = [await tempDir(), await tempDir()];
  try {
    const clusters = await Promise.all(
      dirs.map((dataDir) => EtcdCluster.start({ members: 1, dataDir })),
    );
    try {
      const [a, b] = clusters;
      assert.notEqual(a!.endpoints[0], b!.endpoints[0]);
      for (const c of clusters) {
        const port = Number(new URL(c.endpoints[0]!).port);
        assert.ok(port >= 42000 && port <= 42999, `port ${port}`);
        await using etcd = new EtcdClient({ endpoints: c.endpoints });
        await etcd.put("/k", c.endpoints[0]!);
      }
      await using etcd = new EtcdClient({ endpoints: a!.endpoints });
      assert.equal((await etcd.get("/k"))?.value, a!.endpoints[0]); // separate clusters
      assert.equal(a!.member(0).running, true);
      assert.match(await Deno.readTextFile(a!.member(0).logFile), /etcd0/);
    } finally {
      await Promise.all(clusters.map((c) => c.close()));
    }
    for (const dir of dirs) assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    for (const dir of dirs) await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("EtcdCluster.start() fails with the member's log tail when its port is taken", async () => {
  const dataDir = await tempDir();
  const [port] = freePorts(2);
  const squatter = Deno.listen({ hostname: "127.0.0.1", port: port! });
  try {
    await assert.rejects(
      EtcdCluster.start({ members: 1, dataDir, basePort: port! }),
      (err: Error) => {
        assert.match(err.message, /^etcd member "etcd0" exited with code 1 during start:\n/);
        assert.match(err.message, /address already in use/);
        return true;
      },
    );
  } finally {
    squatter.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("EtcdCluster.stop() and restart() take a member down and back with its data", async () => {
  const dataDir = await tempDir();
  try {
    await using cluster = await EtcdCluster.start({ members: 1, dataDir });
    await using etcd = new EtcdClient({ endpoints: cluster.endpoints, timeoutMs: 500 });
    await etcd.put("/k", "kept");
    await cluster.stop(0);
    assert.equal(cluster.member(0).running, false);
    const err = await etcd.get("/k").catch((e) => e);
    assert.ok(err instanceof EtcdError && err.unavailable, String(err));
    await cluster.restart(0);
    assert.equal(cluster.member(0).running, true);
    assert.equal((await etcd.get("/k"))?.value, "kept");
    assert.throws(() => cluster.member(1), /^RangeError: No etcd member 1: the cluster has 1$/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
