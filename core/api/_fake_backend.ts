// A fake AdminBackend for API and CLI tests (pure API logic; the real one is the agent).
import { Hono } from "hono";
import type { AdminBackend } from "./backend.ts";
import { NotFoundError, ValidationError } from "./errors.ts";
import { PluginError, type PluginStatus } from "../plugin/host.ts";
import { configSchema } from "../config/schema.ts";
import { FlowObserver } from "../flows/observer.ts";

export function fakeBackend(
  overrides: Partial<AdminBackend> = {},
): AdminBackend & { enabled: Set<string>; observer: FlowObserver } {
  const enabled = new Set<string>();
  // A real store behind the flow routes (no export file, no peer listener: never started).
  const observer = new FlowObserver({
    nodeName: "n1",
    config: configSchema.parse({}).observability,
    nodes: () => [],
  });
  const plugin = (id: string): PluginStatus => ({
    id,
    description: `fake ${id}`,
    needs: [],
    enabled: enabled.has(id),
    state: enabled.has(id) ? "running" : "stopped",
    health: enabled.has(id) ? "ok" : "down",
    since: "2026-01-01T00:00:00.000Z",
  });
  const base: AdminBackend = {
    node: () => ({
      name: "n1",
      cluster: "c1",
      version: "0.1.0",
      pid: 1,
      startedAt: "2026-01-01T00:00:00.000Z",
      ready: true,
    }),
    features: () => ({
      kernel: "6.18",
      features: [{ name: "tcx links", available: true, detail: "supported" }],
    }),
    datapath: () => ({
      attachMode: "auto",
      devices: ["eth0"],
      attachments: [],
      mapWrites: 0,
      linkWrites: 0,
      lastReconcile: null,
    }),
    plugins: () => [plugin("demo")],
    enablePlugin: (id) => {
      if (id !== "demo") {
        return Promise.reject(new PluginError(id, `Unknown plugin "${id}"`, "unknown"));
      }
      enabled.add(id);
      return Promise.resolve();
    },
    disablePlugin: (id) => {
      enabled.delete(id);
      return Promise.resolve();
    },
    config: () => [{ path: "node.name", value: "n1", source: "flag" }],
    maps: () => [{
      name: "hypha_devices",
      owner: "core",
      type: "hash",
      keySize: 4,
      valueSize: 16,
      maxEntries: 256,
      entries: 1,
      fillRatio: 1 / 256,
      pinned: "/sys/fs/bpf/hypha/n1/maps/hypha_devices",
    }],
    dumpMap: (name, limit) => {
      if (name !== "hypha_devices") throw new NotFoundError(`No map "${name}"`);
      return [{ key: 2, value: { flags: 1 } }].slice(0, limit);
    },
    counters: () => [{
      ifname: "eth0",
      ifindex: 2,
      direction: "ingress",
      packets: 3,
      bytes: 300,
      drops: 0,
      dropsByReason: {},
    }],
    metrics: () => "# HELP hypha_up 1\n# TYPE hypha_up gauge\nhypha_up 1\n",
    pluginRoutes: () =>
      enabled.has("demo")
        ? [{
          plugin: "demo",
          path: "/",
          app: new Hono()
            .get("/hello", (c) => c.json({ hello: "demo" }))
            .get("/things/:name", (c) => {
              throw new NotFoundError(`No thing "${c.req.param("name")}"`);
            })
            .post("/things", () => {
              throw new ValidationError("name is required", "name");
            })
            .get("/broken", () => {
              throw new Error("demo broke");
            }),
        }]
        : [],
    network: () => null,
    nodes: () => [],
    rejectedRecords: () => [],
    endpoints: () => [],
    endpoint: (id) => {
      throw new NotFoundError(`No local endpoint ${id}`);
    },
    cni: () => Promise.resolve({ status: 200, body: { result: null } }),
    policies: () => ({ policies: [] }),
    applyPolicies: () => Promise.resolve({ applied: [] }),
    deletePolicies: () => Promise.resolve({ deleted: [] }),
    validatePolicies: () => [],
    tracePolicy: (q) => ({ ...q, verdict: "allowed" }),
    applyServices: () => Promise.resolve({ applied: [] }),
    deleteServices: () => Promise.resolve({ deleted: [], missing: [] }),
    validateServices: () => [],
    flows: () => observer,
    flowEventStats: () => ({ sent: 0, lost: 0, limited: 0 }),
  };
  return Object.assign({ ...base, ...overrides }, { enabled, observer });
}
