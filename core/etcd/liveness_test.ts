// Watch liveness against a real member behind a proxy that can go half-open (bytes stop, no FIN
// or RST): the watch notices within its liveness window, resumes through the other endpoint from
// its last revision, and sees what changed meanwhile.
import assert from "node:assert/strict";
import { tcpProxy, waitFor, withEtcd } from "./_testing.ts";
import type { WatchEvent } from "./types.ts";

for (const tls of [false, true]) {
  Deno.test(`EtcdClient.watch() notices a half-open stream within its liveness and resumes (${tls ? "TLS, progress requests" : "plain, member probes"})`, async () => {
    await withEtcd(1, async (cluster, connect) => {
      const direct = cluster.endpoints[0]!;
      const url = new URL(direct);
      await using proxy = tcpProxy(Number(url.port));
      const viaProxy = `${url.protocol}//127.0.0.1:${proxy.port}`;
      const logger = { lines: [] as string[], warn: log, error: log };
      function log(msg: string, fields?: Record<string, unknown>) {
        logger.lines.push(`${msg} ${JSON.stringify(fields ?? {})}`);
      }
      const watcher = connect({ endpoints: [viaProxy, direct], watchLivenessMs: 1_000, logger });
      const writer = connect({ endpoints: [direct] });
      const seen: WatchEvent[] = [];
      const watch = watcher.watch("/live/", { onEvents: (events) => void seen.push(...events) });
      await watch.ready;
      assert.equal(watch.endpoint, viaProxy);
      await writer.put("/live/a", "before");
      await waitFor("the first event", () => seen.length === 1);

      // Idle but alive: probes are answered, the stream stays where it is.
      await new Promise((r) => setTimeout(r, 2_500));
      assert.equal(watch.endpoint, viaProxy, logger.lines.join("\n"));

      const lease = await writer.grant(30);
      proxy.freeze();
      await writer.put("/live/a", "during");
      await writer.put("/live/b", "during");
      await waitFor("the events written while the stream was half-open", () => seen.length === 3);
      // Unary calls and keep-alives have their call timeout: past the half-open endpoint, onward.
      const unary = connect({ endpoints: [viaProxy, direct], timeoutMs: 2_000 });
      assert.equal((await unary.get("/live/b"))?.value, "during");
      assert.ok((await unary.keepAliveOnce(lease, { timeoutMs: 2_000 })) > 0);
      assert.equal(unary.endpoint, direct);
      assert.equal(watch.endpoint, direct);
      assert.deepEqual(seen.map((e) => `${e.key}=${e.value}`), [
        "/live/a=before",
        "/live/a=during",
        "/live/b=during",
      ]);
      const interrupted = logger.lines.find((l) => l.startsWith("etcd watch interrupted"));
      assert.match(interrupted ?? "", /no sign of life for \d+ ms \(liveness 1000 ms\)/);
      proxy.thaw();
      await watch.close();
    }, { tls });
  });
}
