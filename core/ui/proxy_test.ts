import assert from "node:assert/strict";
import { join } from "node:path";
import { serveUiProxy } from "./proxy.ts";

/** A stand-in agent on a unix socket: /v1/flows?follow=true streams until cancelled. */
async function fakeAgent() {
  const dir = await Deno.makeTempDir();
  const socket = join(dir, "api.sock");
  const cancelled = Promise.withResolvers<void>();
  const server = Deno.serve({ path: socket, onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/ui") {
      return new Response(null, { status: 302, headers: { location: "/ui/" } });
    }
    if (url.searchParams.get("follow") !== "true") {
      return Response.json({ path: url.pathname, query: url.search });
    }
    let timer: ReturnType<typeof setInterval> | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode('{"flow":{"uuid":"a"}}\n'));
        timer = setInterval(
          () => c.enqueue(new TextEncoder().encode('{"flow":{"uuid":"b"}}\n')),
          20,
        );
      },
      cancel() {
        clearInterval(timer);
        cancelled.resolve();
      },
    });
    return new Response(body, { headers: { "content-type": "application/x-ndjson" } });
  });
  return {
    socket,
    cancelled: cancelled.promise,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("serveUiProxy() forwards reads to the agent's socket on loopback", async (t) => {
  await using agent = await fakeAgent();
  await using proxy = serveUiProxy({ socket: agent.socket });
  assert.match(proxy.url, /^http:\/\/127\.0\.0\.1:\d+\/ui\/$/);
  const base = `http://127.0.0.1:${proxy.port}`;

  await t.step("paths and queries pass through; redirects are not followed", async () => {
    assert.deepEqual(await (await fetch(`${base}/v1/flows?last=5&verdict=DROPPED`)).json(), {
      path: "/v1/flows",
      query: "?last=5&verdict=DROPPED",
    });
    const res = await fetch(`${base}/ui`, { redirect: "manual" });
    await res.body?.cancel();
    assert.equal(res.status, 302);
    assert.equal(res.headers.get("location"), "/ui/");
  });

  await t.step("a stream flows through and cancelling it ends the agent's side", async () => {
    const res = await fetch(`${base}/v1/flows?follow=true`);
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.match(first, /"uuid":"a"/);
    await reader.cancel();
    await agent.cancelled;
  });

  await t.step("writes and foreign Host headers are refused", async () => {
    const post = await fetch(`${base}/v1/policy`, { method: "POST", body: "{}" });
    assert.equal(post.status, 405);
    assert.match((await post.json()).error.message, /read-only/);
    // fetch() sets Host from the URL; a rebinding page would arrive with its own name.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
    await conn.write(
      new TextEncoder().encode(
        "GET /v1/flows HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
      ),
    );
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    conn.close();
    assert.match(new TextDecoder().decode(buf.subarray(0, n ?? 0)), /^HTTP\/1\.1 421/);
  });
});

Deno.test("serveUiProxy() refuses a non-loopback address", () => {
  assert.throws(
    () => serveUiProxy({ socket: "/nonexistent", hostname: "0.0.0.0" }),
    /not loopback/,
  );
});

Deno.test("serveUiProxy() answers 502 when the agent is not there", async () => {
  await using proxy = serveUiProxy({ socket: "/nonexistent/api.sock" });
  const res = await fetch(`http://127.0.0.1:${proxy.port}/v1/status`);
  assert.equal(res.status, 502);
  assert.match(
    (await res.json()).error.message,
    /Cannot reach the agent at \/nonexistent\/api\.sock/,
  );
});
