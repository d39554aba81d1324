import assert from "node:assert/strict";
import { join } from "node:path";
import { createApiApp } from "./app.ts";
import { ApiClient } from "./client.ts";
import { serveApi } from "./server.ts";
import { fakeBackend } from "./_fake_backend.ts";

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
