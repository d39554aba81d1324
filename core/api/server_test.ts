import assert from "node:assert/strict";
import { join } from "node:path";
import { createApiApp } from "./app.ts";
import { ApiClient } from "./client.ts";
import { serveApi } from "./server.ts";
import { fakeBackend } from "./_fake_backend.ts";
import { API_MAX_BODY_BYTES } from "./body_limit.ts";
import { CNI_MAX_REQUEST_BYTES } from "../cni/protocol.ts";

Deno.test("serveApi() serves on a unix socket with mode 0600 and cleans up", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hypha-api-" });
  const socketPath = join(dir, "run/api.sock");
  await Deno.writeTextFile(join(dir, "stale"), "");
  try {
    const server = await serveApi(createApiApp(fakeBackend()), { socketPath });
    assert.equal((await Deno.stat(socketPath)).mode! & 0o777, 0o600);
    {
      using client = new ApiClient({ socket: socketPath });
      const status = await client.json<{ node: { name: string } }>("GET", "/v1/status");
      assert.equal(status.node.name, "n1");
      await assert.rejects(client.json("GET", "/v1/bpf/maps/zzz"), /No map "zzz"/);
    }
    await server.close();
    await assert.rejects(Deno.stat(socketPath), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ApiClient says when no agent listens", async () => {
  using client = new ApiClient({ socket: "/nonexistent/api.sock" });
  await assert.rejects(
    client.json("GET", "/v1/status"),
    /cannot reach agent at \/nonexistent\/api\.sock/,
  );
});

Deno.test("the TCP listener requires the token", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hypha-api-" });
  const backend = fakeBackend();
  const server = await serveApi(createApiApp(backend), {
    socketPath: join(dir, "api.sock"),
    tcp: { hostname: "127.0.0.1", port: 0, app: createApiApp(backend, { token: "t0k" }) },
  });
  try {
    const url = `http://${server.tcpAddress}`;
    {
      using anon = new ApiClient({ url, token: "" });
      await assert.rejects(anon.json("GET", "/v1/status"), /bearer token/);
    }
    using client = new ApiClient({ url, token: "t0k" });
    assert.equal(
      (await client.json<{ node: { name: string } }>("GET", "/v1/status")).node.name,
      "n1",
    );
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("request bodies over the limit get a JSON 413 on the socket and the TCP listener", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "hypha-api-" });
  const seen: number[] = [];
  const backend = fakeBackend({
    applyPolicies: (text) => {
      seen.push(text.length);
      return Promise.resolve({ applied: [] });
    },
  });
  const server = await serveApi(createApiApp(backend), {
    socketPath: join(dir, "api.sock"),
    tcp: { hostname: "127.0.0.1", port: 0, app: createApiApp(backend, { token: "t0k" }) },
  });
  const overApi = "#".repeat(API_MAX_BODY_BYTES + 1);
  const sock = Deno.createHttpClient({ proxy: { transport: "unix", path: server.socketPath } });
  const post = (base: string, path: string, body: BodyInit, client?: Deno.HttpClient) =>
    fetch(`${base}${path}`, {
      method: "POST",
      body,
      headers: { authorization: "Bearer t0k" },
      ...(client ? { client } : {}),
    });
  try {
    for (
      const [where, base, client] of [
        ["unix socket", "http://localhost", sock],
        ["TCP listener", `http://${server.tcpAddress}`, undefined],
      ] as const
    ) {
      await t.step(`${where}: a manifest body one byte over ${API_MAX_BODY_BYTES}`, async () => {
        const res = await post(base, "/v1/policies", overApi, client);
        assert.equal(res.status, 413);
        assert.deepEqual(await res.json(), {
          error: {
            code: "too_large",
            message: `Request body is larger than the limit of ${API_MAX_BODY_BYTES} bytes ` +
              "(4 MiB): split it into smaller requests",
          },
        });
      });
      await t.step(`${where}: a chunked body is cut off at the limit too`, async () => {
        const chunk = new Uint8Array(64 * 1024);
        let sent = 0;
        const body = new ReadableStream<Uint8Array>({
          pull(c) {
            // endless unless the server stops reading; bounded here to 8 MiB
            if (sent >= 2 * API_MAX_BODY_BYTES) return c.close();
            sent += chunk.length;
            c.enqueue(chunk);
          },
        });
        const res = await post(base, "/v1/policies", body, client);
        assert.equal(res.status, 413);
        assert.equal((await res.json()).error.code, "too_large");
      });
      await t.step(
        `${where}: a CNI request over ${CNI_MAX_REQUEST_BYTES} is a CNI error`,
        async () => {
          const res = await post(base, "/v1/cni", "#".repeat(CNI_MAX_REQUEST_BYTES + 1), client);
          assert.equal(res.status, 413);
          const body = await res.json();
          assert.equal(body.error.code, "too_large");
          assert.equal(body.cni.code, 7);
          assert.match(body.cni.msg, /larger than the limit of 1048576 bytes/);
        },
      );
    }
    await t.step("bodies up to the limit are served", async () => {
      const res = await post("http://localhost", "/v1/policies", overApi.slice(1), sock);
      assert.equal(res.status, 200);
      await res.body?.cancel();
      assert.deepEqual(seen, [API_MAX_BODY_BYTES], "only the body within the limit arrived");
    });
  } finally {
    sock.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
