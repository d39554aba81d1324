import assert from "node:assert/strict";
import { waitFor, withEtcd } from "./_testing.ts";
import { EtcdError, GrpcCode } from "./errors.ts";
import type { KeyValue, WatchEvent } from "./types.ts";

/** Events as "type key=value", easy to compare. */
const show = (e: WatchEvent) =>
  `${e.type} ${e.key}=${e.value}${e.prevValue === undefined ? "" : ` (was ${e.prevValue})`}`;

Deno.test("EtcdClient.watch() delivers a prefix's puts and deletes in order, with prevValue", async () => {
  await withEtcd(1, async (_cluster, connect) => {
    const etcd = connect();
    const seen: WatchEvent[] = [];
    const watch = etcd.watch("/hypha/", { onEvents: (events) => void seen.push(...events) });
    await watch.ready;
    const first = await etcd.put("/hypha/a", "1");
    await etcd.put("/other", "not watched");
    await etcd.put("/hypha/a", "2");
    await etcd.put("/hypha/b", "3");
    await etcd.delete("/hypha/a");
    await waitFor("4 events", () => seen.length >= 4);
    assert.deepEqual(seen.map(show), [
      "put /hypha/a=1",
      "put /hypha/a=2 (was 1)",
      "put /hypha/b=3",
      "delete /hypha/a= (was 2)",
    ]);
    assert.equal(seen[0]?.modRevision, first.revision);
    await watch.close();

    // A start revision in the past replays history from there.
    const replay: WatchEvent[] = [];
    const again = etcd.watch("/hypha/", {
      startRevision: first.revision + 1n,
      prevKv: false,
      onEvents: (events) => void replay.push(...events),
    });
    await waitFor("3 replayed events", () => replay.length >= 3);
    assert.deepEqual(replay.map(show), ["put /hypha/a=2", "put /hypha/b=3", "delete /hypha/a="]);
    await again.close();
  });
});

Deno.test("EtcdClient.watch() resumes on another member when its member is killed, losing and repeating nothing", async () => {
  await withEtcd(3, async (cluster, connect) => {
    const watcher = connect();
    const writer = connect();
    const seen: WatchEvent[] = [];
    const watch = watcher.watch("/hypha/", { onEvents: (events) => void seen.push(...events) });
    await watch.ready;
    const victim = cluster.endpoints.indexOf(watch.endpoint ?? "");
    assert.ok(victim >= 0);
    const { revision: before } = await writer.getPrefix("/hypha/");

    const total = 60;
    for (let i = 0; i < total; i++) {
      if (i === 20) await cluster.kill(victim);
      await writer.put(`/hypha/k${String(i).padStart(2, "0")}`, String(i));
    }
    const { revision: after } = await writer.getPrefix("/hypha/");
    await waitFor("the last write's event", () => seen.at(-1)?.modRevision === after, 15_000);
    assert.notEqual(watch.endpoint, cluster.endpoints[victim]);

    // The history etcd kept, replayed by an undisturbed watch, is exactly what the watcher saw. (A
    // put that stalled on a leaderless member and was sent again may appear twice: as two
    // revisions, in both lists.)
    const history: WatchEvent[] = [];
    const replay = writer.watch("/hypha/", {
      startRevision: before + 1n,
      onEvents: (events) => void history.push(...events),
    });
    await waitFor("the replay", () => history.at(-1)?.modRevision === after);
    await replay.close();
    assert.deepEqual(seen, history);
    const values = new Set(seen.map((e) => e.value));
    assert.equal(values.size, total);

    // The killed member comes back on its data and serves what it missed.
    await cluster.restart(victim);
    const direct = connect({ endpoints: [cluster.endpoints[victim]!] });
    assert.equal((await direct.get("/hypha/k59"))?.value, "59");
  });
});

Deno.test("EtcdClient.watch() asks onReset where to go on when its start revision was compacted", async () => {
  await withEtcd(1, async (_cluster, connect) => {
    const etcd = connect();
    for (let i = 0; i < 5; i++) await etcd.put("/hypha/k", String(i));
    const { revision } = await etcd.put("/hypha/k", "last");
    await etcd.compact(revision);

    const resets: bigint[] = [];
    const seen: WatchEvent[] = [];
    const watch = etcd.watch("/hypha/", {
      startRevision: 1n,
      onEvents: (events) => void seen.push(...events),
      onReset: (compactRevision) => {
        resets.push(compactRevision);
        return revision + 1n;
      },
    });
    await watch.ready;
    await etcd.put("/hypha/k", "after");
    await waitFor("the event after the reset", () => seen.length > 0);
    assert.deepEqual(resets, [revision]);
    assert.deepEqual(seen.map(show), ["put /hypha/k=after (was last)"]);
    await watch.close();

    // Without onReset the watch stops with a compaction error.
    const strict = etcd.watch("/hypha/", { startRevision: 1n, onEvents: () => {} });
    const err = await strict.done.catch((e) => e);
    assert.ok(err instanceof EtcdError);
    assert.equal(err.code, GrpcCode.outOfRange);
    assert.match(
      err.message,
      /^etcd watch "\/hypha\/": revision 1 was compacted \(oldest kept: \d+\)$/,
    );
  });
});

Deno.test("EtcdClient.listAndWatch() lists, watches, and lists again after a compaction", async () => {
  await withEtcd(3, async (cluster, connect) => {
    const writer = connect({ endpoints: cluster.endpoints.slice(1) });
    await writer.put("/hypha/a", "1");
    // Pinned to member 0, so the watch cannot resume until that member is back.
    const watcher = connect({ endpoints: [cluster.endpoints[0]!] });
    const state = new Map<string, string>();
    const log: string[] = [];
    const watch = watcher.listAndWatch("/hypha/", {
      onSnapshot: (kvs: KeyValue[]) => {
        log.push(`snapshot ${kvs.map((kv) => kv.key).join(",")}`);
        state.clear();
        for (const kv of kvs) state.set(kv.key, kv.value);
      },
      onEvents: (events) => {
        for (const e of events) {
          log.push(show(e));
          if (e.type === "put") state.set(e.key, e.value);
          else state.delete(e.key);
        }
      },
    });
    await watch.ready;
    await writer.put("/hypha/b", "2");
    await waitFor("the put of b", () => state.has("/hypha/b"));

    await cluster.kill(0);
    await writer.delete("/hypha/a");
    await writer.put("/hypha/c", "3");
    const { revision } = await writer.put("/hypha/c", "4");
    await writer.compact(revision);
    await cluster.restart(0);

    await waitFor("the re-list", () => state.get("/hypha/c") === "4" && !state.has("/hypha/a"));
    assert.deepEqual([...state], [["/hypha/b", "2"], ["/hypha/c", "4"]]);
    assert.deepEqual(log, [
      "snapshot /hypha/a",
      "put /hypha/b=2",
      "snapshot /hypha/b,/hypha/c",
    ]);
    await watch.close();
  });
});

Deno.test("EtcdClient.watch() stops when onEvents throws and close() stops a healthy one", async () => {
  await withEtcd(1, async (_cluster, connect) => {
    const etcd = connect();
    const failing = etcd.watch("/x/", {
      onEvents: () => {
        throw new Error("handler bug");
      },
    });
    await failing.ready;
    await etcd.put("/x/1", "v");
    await assert.rejects(failing.done, /handler bug/);

    const controller = new AbortController();
    const healthy = etcd.watch("/y/", { onEvents: () => {}, signal: controller.signal });
    await healthy.ready;
    controller.abort();
    await healthy.done;
    assert.equal(healthy.endpoint, undefined);
  });
});
