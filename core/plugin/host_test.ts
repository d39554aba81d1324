import assert from "node:assert/strict";
import { Hono } from "hono";
import { z } from "zod";
import { Metrics } from "../metrics/registry.ts";
import { createState } from "../state/mod.ts";
import { Hooks } from "./hooks.ts";
import { type HostServices, PluginHost, startOrder } from "./host.ts";
import { definePlugin, type Plugin } from "./plugin.ts";

// Test plugins record what happens to them (pure host logic; no kernel involved).
function recorder() {
  const events: string[] = [];
  const make = (
    id: string,
    opts: { needs?: string[]; failStart?: boolean } = {},
  ): Plugin<unknown> =>
    definePlugin({
      id,
      description: `test plugin ${id}`,
      config: z.object({ size: z.number().default(1) }),
      needs: opts.needs ?? [],
      start(ctx) {
        events.push(`start ${id} size=${(ctx.config as { size: number }).size}`);
        ctx.onDispose(() => {
          events.push(`dispose ${id}`);
        });
        ctx.route("/hello", new Hono().get("/", (c) => c.text(`hi from ${id}`)));
        if (opts.failStart) throw new Error(`${id} cannot start`);
      },
      stop() {
        events.push(`stop ${id}`);
      },
    });
  return { events, make };
}

function services(): HostServices {
  const noop = () => {};
  return {
    node: "n1",
    hooks: new Hooks(),
    state: createState(),
    maps: { register: noop, unregister: noop },
    metrics: new Metrics(),
    logger: () => ({ debug: noop, info: noop, warn: noop, error: noop }),
  };
}

Deno.test("startOrder() puts needs first and names a cycle", () => {
  const { make } = recorder();
  assert.deepEqual(
    startOrder([make("c", { needs: ["b"] }), make("a"), make("b", { needs: ["a"] })]),
    [
      "a",
      "b",
      "c",
    ],
  );
  assert.throws(
    () => startOrder([make("a", { needs: ["b"] }), make("b", { needs: ["a"] })]),
    /cycle: a -> b -> a/,
  );
});

Deno.test("PluginHost.startAll() starts enabled plugins in order and stopAll() reverses it", async () => {
  const { events, make } = recorder();
  const host = new PluginHost([make("b", { needs: ["a"] }), make("a"), make("off")], services());
  await host.startAll({
    a: { enabled: true },
    b: { enabled: true, size: 5 } as { enabled: boolean },
  });
  assert.deepEqual(events, ["start a size=1", "start b size=5"]);
  assert.deepEqual(host.list().map((p) => [p.id, p.state, p.health]), [
    ["a", "running", "ok"],
    ["b", "running", "ok"],
    ["off", "stopped", "down"],
  ]);
  assert.deepEqual(host.routes().map((r) => `${r.plugin}${r.path}`).sort(), ["a/hello", "b/hello"]);
  events.length = 0;
  await host.stopAll();
  assert.deepEqual(events, ["stop b", "dispose b", "stop a", "dispose a"]);
  assert.deepEqual(host.routes(), []);
});

Deno.test("PluginHost.startAll() unwinds started plugins in reverse on failure", async () => {
  const { events, make } = recorder();
  const host = new PluginHost(
    [make("a"), make("b", { needs: ["a"] }), make("c", { needs: ["b"], failStart: true })],
    services(),
  );
  await assert.rejects(
    host.startAll({ a: { enabled: true }, b: { enabled: true }, c: { enabled: true } }),
    /Plugin "c" failed to start: c cannot start/,
  );
  assert.deepEqual(events, [
    "start a size=1",
    "start b size=1",
    "start c size=1",
    "dispose c",
    "stop b",
    "dispose b",
    "stop a",
    "dispose a",
  ]);
  const c = host.list().find((p) => p.id === "c")!;
  assert.equal(c.state, "failed");
  assert.equal(c.message, "c cannot start");
});

Deno.test("PluginHost enable/disable at runtime respect needs", async (t) => {
  const { make } = recorder();
  const host = new PluginHost([make("a"), make("b", { needs: ["a"] })], services());
  await host.startAll({});
  await t.step("enabling b before a is refused, naming a", async () => {
    await assert.rejects(host.enable("b", { enabled: true }), /needs "a": enable it first/);
  });
  await t.step("enable a then b", async () => {
    await host.enable("a", { enabled: true });
    await host.enable("b", { enabled: true });
    assert.ok(host.list().every((p) => p.state === "running"));
  });
  await t.step("disabling a while b runs is refused, naming b", async () => {
    await assert.rejects(host.disable("a"), /needed by "b"/);
  });
  await t.step("unknown plugins are named", async () => {
    await assert.rejects(
      host.enable("zzz", { enabled: true }),
      /Unknown plugin "zzz" \(known: a, b\)/,
    );
  });
  await host.stopAll();
});

Deno.test("PluginHost refuses duplicate ids and unknown needs", () => {
  const { make } = recorder();
  assert.throws(() => new PluginHost([make("a"), make("a")], services()), /registered twice/);
  assert.throws(
    () => new PluginHost([make("a", { needs: ["x"] })], services()),
    /needs "x", which is not registered/,
  );
});

Deno.test("Hooks.emit() reports a throwing handler and still runs the others", async () => {
  const seen: string[] = [];
  const hooks = new Hooks();
  hooks.on("nodeReady", "p1", () => {
    throw new Error("boom");
  });
  hooks.on("nodeReady", "p2", ({ node }) => {
    seen.push(node);
  });
  const errors = await hooks.emit("nodeReady", { node: "n1" });
  assert.deepEqual(seen, ["n1"]);
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.owner, "p1");
  hooks.removeOwner("p2");
  await hooks.emit("nodeReady", { node: "n2" });
  assert.deepEqual(seen, ["n1"]);
});
