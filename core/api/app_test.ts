import assert from "node:assert/strict";
import { createApiApp } from "./app.ts";
import { ApiError } from "./errors.ts";
import { openapi } from "./openapi.ts";
import { fakeBackend } from "./_fake_backend.ts";

Deno.test("GET routes return the backend's state as JSON", async (t) => {
  const app = createApiApp(fakeBackend());
  await t.step("healthz and readyz", async () => {
    assert.equal((await app.request("/healthz")).status, 200);
    assert.deepEqual(await (await app.request("/readyz")).json(), { ready: true });
  });
  await t.step("status bundles node, kernel, datapath and plugins", async () => {
    const body = await (await app.request("/v1/status")).json();
    assert.equal(body.node.name, "n1");
    assert.equal(body.kernel.features[0].name, "tcx links");
    assert.deepEqual(body.datapath.devices, ["eth0"]);
    assert.equal(body.plugins[0].id, "demo");
  });
  await t.step("maps, dump with limit, counters, config", async () => {
    assert.equal((await (await app.request("/v1/bpf/maps")).json()).maps[0].name, "hypha_devices");
    const dump = await (await app.request("/v1/bpf/maps/hypha_devices?limit=1")).json();
    assert.deepEqual(dump.entries, [{ key: 2, value: { flags: 1 } }]);
    assert.equal((await (await app.request("/v1/counters")).json()).counters[0].packets, 3);
    assert.equal((await (await app.request("/v1/config")).json()).config[0].source, "flag");
  });
  await t.step("metrics are Prometheus text", async () => {
    const res = await app.request("/metrics");
    assert.match(res.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
    assert.match(await res.text(), /^hypha_up 1$/m);
  });
});

Deno.test("readyz is 503 while the node is starting", async () => {
  const backend = fakeBackend();
  const app = createApiApp({ ...backend, node: () => ({ ...backend.node(), ready: false }) });
  assert.equal((await app.request("/readyz")).status, 503);
});

Deno.test("errors are JSON with a code, a message and the field", async (t) => {
  const app = createApiApp(fakeBackend());
  await t.step("unknown route", async () => {
    const res = await app.request("/v1/nope");
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), {
      error: { code: "not_found", message: "No route GET /v1/nope" },
    });
  });
  await t.step("unknown map", async () => {
    const res = await app.request("/v1/bpf/maps/zzz");
    assert.equal(res.status, 404);
    assert.match((await res.json()).error.message, /No map "zzz"/);
  });
  await t.step("bad limit names the field", async () => {
    const res = await app.request("/v1/bpf/maps/hypha_devices?limit=-3");
    assert.equal(res.status, 400);
    assert.deepEqual((await res.json()).error.field, "limit");
  });
  await t.step("unknown plugin is 404", async () => {
    const res = await app.request("/v1/plugins/zzz/enable", { method: "POST" });
    assert.equal(res.status, 404);
    assert.match((await res.json()).error.message, /Unknown plugin "zzz"/);
  });
  await t.step("a body on enable is rejected and changes nothing", async () => {
    const backend = fakeBackend();
    const res = await createApiApp(backend).request("/v1/plugins/demo/enable", {
      method: "POST",
      body: '{"x":1}',
    });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.field, "body");
    assert.equal(backend.enabled.size, 0);
  });
});

Deno.test("enabling a plugin at runtime mounts its routes, disabling removes them", async () => {
  const app = createApiApp(fakeBackend());
  assert.equal((await app.request("/v1/plugins/demo/hello")).status, 404);
  const res = await app.request("/v1/plugins/demo/enable", { method: "POST", body: "{}" });
  assert.equal(res.status, 200);
  assert.equal((await res.json()).plugin.state, "running");
  assert.deepEqual(await (await app.request("/v1/plugins/demo/hello")).json(), { hello: "demo" });
  await app.request("/v1/plugins/demo/disable", { method: "POST" });
  assert.equal((await app.request("/v1/plugins/demo/hello")).status, 404);
});

Deno.test("a plugin route's errors go through the API's error handler as JSON", async (t) => {
  const app = createApiApp(fakeBackend());
  await app.request("/v1/plugins/demo/enable", { method: "POST" });
  const cases: Array<[string, string, string, number, unknown]> = [
    ["NotFoundError", "GET", "/things/x", 404, {
      error: { code: "not_found", message: 'No thing "x"' },
    }],
    ["ValidationError", "POST", "/things", 400, {
      error: { code: "invalid", message: "name is required", field: "name" },
    }],
    ["another error", "GET", "/broken", 500, {
      error: { code: "internal", message: "demo broke" },
    }],
    ["a path the plugin does not serve", "GET", "/nope", 404, {
      error: { code: "not_found", message: "No route GET /v1/plugins/demo/nope" },
    }],
  ];
  for (const [what, method, path, status, body] of cases) {
    await t.step(`${what}: ${status}`, async () => {
      const res = await app.request(`/v1/plugins/demo${path}`, { method });
      assert.equal(res.status, status);
      assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
      assert.deepEqual(await res.json(), body);
    });
  }
});

Deno.test("a token protects every route but /healthz", async () => {
  const app = createApiApp(fakeBackend(), { token: "s3cret" });
  assert.equal((await app.request("/healthz")).status, 200);
  assert.equal((await app.request("/v1/status")).status, 401);
  assert.equal(
    (await app.request("/v1/status", { headers: { authorization: "Bearer wrong" } })).status,
    401,
  );
  assert.equal(
    (await app.request("/v1/status", { headers: { authorization: "Bearer s3cret" } })).status,
    200,
  );
});

Deno.test("the OpenAPI document lists exactly the routes the app serves", () => {
  const app = createApiApp(fakeBackend());
  // "/*" is middleware (token, body limits), not a route
  const served = new Set(
    app.routes.filter((r) => r.path !== "/*" && (r.method !== "ALL" || r.path.includes("/*")))
      .map((r) => r.path.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}").replace("/*", "/{path}")),
  );
  assert.deepEqual([...served].sort(), Object.keys(openapi.paths).sort());
});

Deno.test("service routes pass the body to the backend; rejections carry every issue", async () => {
  const issues = [{ path: "spec.ports[0].nodePort", message: "Must be 30000-32767, got 40000" }];
  const seen: string[] = [];
  const conflict = new ApiError(409, "conflict", "Not applied: ...");
  conflict.details = { issues, applied: [] };
  const app = createApiApp(fakeBackend({
    applyServices: (text) => {
      seen.push(text);
      return text === "conflict" ? Promise.reject(conflict) : Promise.resolve({ applied: ["x"] });
    },
    validateServices: () => issues,
  }));
  const post = (path: string, body: string) => app.request(path, { method: "POST", body });
  assert.deepEqual(await (await post("/v1/services", "kind: Service")).json(), { applied: ["x"] });
  assert.deepEqual(seen, ["kind: Service"]);
  const res = await post("/v1/services", "conflict");
  assert.equal(res.status, 409);
  assert.deepEqual((await res.json()).issues, issues);
  assert.deepEqual(await (await post("/v1/services/validate", "x")).json(), {
    valid: false,
    issues,
  });
  assert.deepEqual(await (await post("/v1/services/delete", "x")).json(), {
    deleted: [],
    missing: [],
  });
  assert.equal((await app.request("/v1/services")).status, 404, "listing is the lb plugin's");
});

Deno.test("status lists every rejected record, the node list those about nodes", async () => {
  const rejected = [
    {
      kind: "Identity",
      namespace: "",
      name: "5",
      source: "/hypha/c1/identities/id/5",
      issues: [{ path: "", message: 'Identity "5" is not in the cluster identity range' }],
      keeping: false,
    },
    {
      kind: "Node",
      namespace: "",
      name: "evil",
      source: "/hypha/c1/nodes/evil",
      issues: [{ path: "podCIDRs[0]", message: 'Pod CIDR "0.0.0.0/0" is not claimed' }],
      keeping: false,
    },
  ];
  const app = createApiApp(fakeBackend({ rejectedRecords: () => rejected }));
  assert.deepEqual((await (await app.request("/v1/status")).json()).rejected, rejected);
  const nodes = await (await app.request("/v1/nodes")).json();
  assert.deepEqual(nodes.rejected.map((r: { name: string }) => r.name), ["evil"]);
});
