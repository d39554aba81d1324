import assert from "node:assert/strict";
import { freePorts } from "./_testing.ts";
import { Transport } from "./_transport.ts";
import { EtcdError } from "./errors.ts";

/** `done` aborts when the test is over, so handlers that never answer can stop. */
type Handler = (done: AbortSignal) => Response | Promise<Response>;

/** Fake gateways on loopback, each counting the requests it got. */
async function withGateways(
  handlers: Handler[],
  fn: (endpoints: string[], hits: number[]) => Promise<void>,
): Promise<void> {
  const ports = freePorts(handlers.length);
  const hits = handlers.map(() => 0);
  const done = new AbortController();
  const servers = handlers.map((h, i) =>
    Deno.serve({ hostname: "127.0.0.1", port: ports[i]!, onListen: () => {} }, () => {
      hits[i]!++;
      return h(done.signal);
    })
  );
  try {
    await fn(ports.map((p) => `http://127.0.0.1:${p}`), hits);
  } finally {
    done.abort();
    await Promise.all(servers.map((s) => s.shutdown()));
  }
}

const noLeader: Handler = () =>
  Response.json({ error: "etcdserver: no leader", message: "etcdserver: no leader", code: 14 }, {
    status: 503,
  });
const ok: Handler = () => Response.json({ header: { revision: "7" } });
/** Never answers in time, as a member stuck without quorum would not. */
const hang: Handler = (done) =>
  new Promise((resolve) => done.addEventListener("abort", () => resolve(ok(done))));

Deno.test("Transport.call() moves past an endpoint answering 503 and keeps using the next", async () => {
  await withGateways([noLeader, ok], async (endpoints, hits) => {
    const t = new Transport(endpoints, 2_000);
    try {
      assert.deepEqual(await t.call("put", "/v3/kv/put", {}, { retry: "always" }), {
        header: { revision: "7" },
      });
      await t.call("put", "/v3/kv/put", {}, { retry: "always" });
      assert.deepEqual(hits, [1, 2]);
      assert.equal(t.current, endpoints[1]);
    } finally {
      t.close();
    }
  });
});

Deno.test("Transport.call() sends a write txn again only when it cannot have been applied", async (t) => {
  await t.step("refused for lack of a leader: sent to the next endpoint", async () => {
    await withGateways([noLeader, ok], async (endpoints, hits) => {
      const transport = new Transport(endpoints, 2_000);
      try {
        await transport.call("txn", "/v3/kv/txn", {}, { retry: "ifNotSent" });
        assert.deepEqual(hits, [1, 1]);
      } finally {
        transport.close();
      }
    });
  });
  await t.step("timed out: outcome unknown, not sent again", async () => {
    await withGateways([hang, ok], async (endpoints, hits) => {
      const transport = new Transport(endpoints, 600);
      try {
        const err = await transport.call('txn on "/k"', "/v3/kv/txn", {}, {
          retry: "ifNotSent",
        }).catch((e) => e);
        assert.ok(err instanceof EtcdError, String(err));
        assert.equal(err.unavailable, true);
        assert.match(
          err.message,
          /^etcd txn on "\/k": outcome unknown, not sent again: http:\/\/127\.0\.0\.1:\d+: timed out after 500 ms$/,
        );
        assert.deepEqual(hits, [1, 0]);
      } finally {
        transport.close();
      }
    });
  });
});

Deno.test("Transport.call() gives every endpoint a share of the budget when one hangs", async () => {
  await withGateways([hang, ok], async (endpoints, hits) => {
    const transport = new Transport(endpoints, 2_000);
    try {
      const start = Date.now();
      await transport.call("get", "/v3/kv/range", {}, { retry: "always" });
      const elapsed = Date.now() - start;
      assert.ok(elapsed >= 900 && elapsed < 1_500, `took ${elapsed} ms`);
      assert.deepEqual(hits, [1, 1]);
    } finally {
      transport.close();
    }
  });
});
