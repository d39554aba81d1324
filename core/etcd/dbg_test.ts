import assert from "node:assert/strict";
import { waitFor, withEtcd } from "./_testing.ts";
import { EtcdError, GrpcCode } from "./errors.ts";
import type { KeyValue, WatchEvent } from "./types.ts";

/** Events as "type key=value", easy to compare. */
const show = (e: WatchEvent) =>
  `${e.type} ${e.key}=${e.value}${e.prevValue === undefined ? "" : ` (was ${e.prevValue})`}`;

Deno.test("EtcdClient.watch() resumes on another member when its member is killed, losing and repeating nothing", async () => {
  await withEtcd(3, async (cluster, connect) => {
    const watcher = connect();
    const writer = connect();
    const seen: WatchEvent[] = [];
    const watch = watcher.watch("/hypha/", { onEvents: (events) => void seen.push(...events) });
    await watch.ready;
    const victim = cluster.endpoints.indexOf(watch.endpoint ?? "");
    assert.ok(victim >= 0);

    const total = 60;
    for (let i = 0; i < total; i++) {
      if (i === 20) await cluster.kill(victim);
      await writer.put(`/hypha/k${String(i).padStart(2, "0")}`, String(i));
    }
    await waitFor(`${total} events`, () => seen.length >= total, 15_000);
    assert.deepEqual(seen.map((e) => e.value), Array.from({ length: total }, (_, i) => String(i)));
    const revisions = seen.map((e) => e.modRevision);
    assert.ok(revisions.every((r, i) => i === 0 || r > revisions[i - 1]!), "revisions increase");
    assert.notEqual(watch.endpoint, cluster.endpoints[victim]);

    // The killed member comes back on its data and serves what it missed.
    await cluster.restart(victim);
    const direct = connect({ endpoints: [cluster.endpoints[victim]!] });
    assert.equal((await direct.get("/hypha/k59"))?.value, "59");
 console.log("body end");
  });
});

