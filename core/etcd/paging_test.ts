// Prefix reads in pages at one revision, against a real member and a recording fake gateway.
import assert from "node:assert/strict";
import { freePorts, withEtcd } from "./_testing.ts";
import { EtcdClient } from "./client.ts";
import { decodeText } from "./_codec.ts";

Deno.test("EtcdClient.getPrefix() reads a prefix in pages, halving a page over the message limit", async () => {
  await withEtcd(1, async (_cluster, connect) => {
    const writer = connect();
    const keys = Array.from({ length: 10 }, (_, i) => `/p/k${i}`);
    for (const k of keys) await writer.put(k, "v".repeat(1000));
    await writer.put("/q", "outside");
    const paged = connect({ pageSize: 3 });
    const all = await paged.getPrefix("/p/");
    assert.deepEqual(all.kvs.map((kv) => kv.key), keys);
    assert.equal(all.revision, (await writer.get("/q"))!.modRevision);
    // About 1.4 kB of JSON per key: 3 keys do not fit in 2.5 kB, 1 does.
    const small = connect({ pageSize: 3, maxMessageBytes: 2_500 });
    assert.deepEqual((await small.getPrefix("/p/")).kvs.map((kv) => kv.key), keys);
    const err = await connect({ maxMessageBytes: 500 }).getPrefix("/p/").catch((e) => e);
    assert.match(err.message, /the answer exceeds the limit of 500 bytes/);
  });
});

Deno.test("EtcdClient.getPrefix() asks every page after the first at the first page's revision", async () => {
  const [port] = freePorts(1);
  const requests: Record<string, string>[] = [];
  const page = (keys: string[], more: boolean, revision: string) => ({
    header: { revision },
    kvs: keys.map((k) => ({ key: btoa(k), value: btoa("v"), mod_revision: "2" })),
    ...(more ? { more: true } : {}),
  });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: port!, onListen: () => {} },
    async (req) => {
      const body = await req.json() as Record<string, string>;
      requests.push(body);
      // The store moves on between pages; the listing must not.
      return Response.json(
        requests.length === 1 ? page(["/p/a", "/p/b"], true, "7") : page(["/p/c"], false, "9"),
      );
    },
  );
  try {
    await using etcd = new EtcdClient({ endpoints: [`http://127.0.0.1:${port}`], pageSize: 2 });
    const { kvs, revision } = await etcd.getPrefix("/p/");
    assert.deepEqual(kvs.map((kv) => kv.key), ["/p/a", "/p/b", "/p/c"]);
    assert.equal(revision, 7n);
    assert.equal(requests.length, 2);
    assert.deepEqual([requests[0]!.limit, requests[0]!.revision], ["2", undefined]);
    assert.deepEqual([requests[1]!.limit, requests[1]!.revision], ["2", "7"]);
    assert.equal(decodeText(requests[1]!.key), "/p/b\0"); // the key right after the last one
    assert.equal(requests[1]!.range_end, requests[0]!.range_end);
  } finally {
    await server.shutdown();
  }
});
