// The plugin host: starts enabled plugins in dependency order, unwinds what started when one
// fails, stops in reverse, enables/disables at runtime and tracks each plugin's health.
// All changes go through one queue, so concurrent API calls cannot interleave half-applied state.
import type { Hono } from "hono";
import type { Metrics } from "../metrics/registry.ts";
import type { StateView } from "../state/mod.ts";
import type { Hooks } from "./hooks.ts";
import type {
  Health,
  Logger,
  MapRegistry,
  Plugin,
  PluginContext,
  PluginDatapath,
  StopReason,
} from "./plugin.ts";

export type PluginState = "stopped" | "starting" | "running" | "failed" | "stopping";

export interface PluginStatus {
  id: string;
  description: string;
  needs: string[];
  enabled: boolean;
  state: PluginState;
  health: Health;
  message?: string;
  since: string;
}

export interface HostServices {
  node: string;
  cluster?: string;
  /** Resolves when the state tables reflect the cluster store (default: at once). */
  synced?: Promise<void>;
  /** The plugin's view of the datapath, by plugin id (undefined without pod networking). */
  datapath?: (id: string) => PluginDatapath | undefined;
  hooks: Hooks;
  state: StateView;
  maps: MapRegistry;
  metrics: Metrics;
  logger(id: string): Logger;
}

export class PluginError extends Error {
  override name = "PluginError";
  constructor(
    readonly plugin: string,
    message: string,
    readonly code: "unknown" | "conflict" | "failed" = "failed",
  ) {
    super(message);
  }
}

interface Slot {
  plugin: Plugin<unknown>;
  enabled: boolean;
  state: PluginState;
  health: Health;
  message?: string;
  since: Date;
  disposers: Array<() => void | Promise<void>>;
  routes: Map<string, Hono>;
}

/** Orders ids so every plugin comes after its needs; throws naming a cycle. */
export function startOrder(plugins: ReadonlyArray<Plugin<unknown>>): string[] {
  const byId = new Map(plugins.map((p) => [p.id, p]));
  const order: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (id: string, path: string[]) => {
    if (state.get(id) === "done") return;
    if (state.get(id) === "visiting") {
      throw new PluginError(
        id,
        `Plugin dependency cycle: ${[...path, id].join(" -> ")}`,
        "conflict",
      );
    }
    state.set(id, "visiting");
    for (const need of byId.get(id)!.needs) visit(need, [...path, id]);
    state.set(id, "done");
    order.push(id);
  };
  for (const p of [...plugins].sort((a, b) => a.id.localeCompare(b.id))) visit(p.id, []);
  return order;
}

export class PluginHost {
  readonly #slots = new Map<string, Slot>();
  readonly #order: string[];
  readonly #services: HostServices;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(plugins: ReadonlyArray<Plugin<unknown>>, services: HostServices) {
    for (const p of plugins) {
      if (this.#slots.has(p.id)) {
        throw new PluginError(p.id, `Plugin "${p.id}" is registered twice`, "conflict");
      }
      this.#slots.set(p.id, {
        plugin: p,
        enabled: false,
        state: "stopped",
        health: "down",
        since: new Date(),
        disposers: [],
        routes: new Map(),
      });
    }
    for (const p of plugins) {
      for (const need of p.needs) {
        if (!this.#slots.has(need)) {
          throw new PluginError(
            p.id,
            `Plugin "${p.id}" needs "${need}", which is not registered`,
            "unknown",
          );
        }
      }
    }
    this.#order = startOrder(plugins);
    this.#services = services;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  #slot(id: string): Slot {
    const s = this.#slots.get(id);
    if (!s) {
      throw new PluginError(
        id,
        `Unknown plugin "${id}" (known: ${[...this.#slots.keys()].join(", ") || "none"})`,
        "unknown",
      );
    }
    return s;
  }

  /** Starts every plugin enabled in `configs`, in dependency order; unwinds all on failure. */
  startAll(configs: Record<string, { enabled: boolean }>): Promise<void> {
    return this.#serial(async () => {
      const started: string[] = [];
      for (const id of this.#order) {
        const cfg = configs[id];
        if (!cfg?.enabled) continue;
        const slot = this.#slot(id);
        const missing = slot.plugin.needs.filter((n) => !configs[n]?.enabled);
        if (missing.length) {
          await this.#unwind(started);
          throw new PluginError(
            id,
            `Plugin "${id}" needs ${missing.map((m) => `"${m}"`).join(", ")}, which is disabled`,
            "conflict",
          );
        }
        try {
          await this.#start(slot, cfg);
          started.push(id);
        } catch (err) {
          await this.#unwind(started);
          throw new PluginError(id, `Plugin "${id}" failed to start: ${errText(err)}`);
        }
      }
    });
  }

  async #unwind(started: string[]): Promise<void> {
    for (const id of [...started].reverse()) await this.#stop(this.#slot(id), "disable");
  }

  async #start(slot: Slot, cfg: { enabled: boolean }): Promise<void> {
    const { enabled: _enabled, ...raw } = cfg as Record<string, unknown>;
    const parsed = slot.plugin.config.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new Error(`plugins.${slot.plugin.id}.${issue.path.join(".")}: ${issue.message}`);
    }
    const pluginConfig = parsed.data;
    slot.enabled = true;
    this.#setState(slot, "starting", "down");
    const id = slot.plugin.id;
    const ctx: PluginContext<unknown> = {
      id,
      node: this.#services.node,
      cluster: this.#services.cluster ?? "default",
      config: pluginConfig,
      synced: this.#services.synced ?? Promise.resolve(),
      datapath: this.#services.datapath?.(id),
      hooks: {
        on: (event, fn) => this.#services.hooks.on(event, id, fn),
        emit: (event, payload) => this.#services.hooks.emit(event, payload),
      },
      state: this.#services.state,
      maps: this.#services.maps,
      metrics: this.#services.metrics,
      log: this.#services.logger(id),
      route: (path, app) => slot.routes.set(path, app),
      reportHealth: (health, message) => {
        slot.health = health;
        if (message === undefined) delete slot.message;
        else slot.message = message;
      },
      onDispose: (fn) => slot.disposers.push(fn),
    };
    try {
      await slot.plugin.start(ctx);
      this.#setState(slot, "running", slot.health === "down" ? "ok" : slot.health);
    } catch (err) {
      await this.#dispose(slot);
      slot.enabled = false;
      this.#setState(slot, "failed", "down", errText(err));
      throw err;
    }
  }

  async #stop(slot: Slot, reason: StopReason): Promise<void> {
    if (slot.state !== "running" && slot.state !== "starting") return;
    this.#setState(slot, "stopping", slot.health);
    let error: unknown;
    try {
      await slot.plugin.stop(reason);
    } catch (err) {
      error = err;
    }
    await this.#dispose(slot);
    this.#setState(slot, error ? "failed" : "stopped", "down", error ? errText(error) : undefined);
  }

  async #dispose(slot: Slot): Promise<void> {
    this.#services.hooks.removeOwner(slot.plugin.id);
    slot.routes.clear();
    for (const fn of slot.disposers.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        this.#services.logger(slot.plugin.id).warn("dispose failed", { error: errText(err) });
      }
    }
  }

  #setState(slot: Slot, state: PluginState, health: Health, message?: string): void {
    slot.state = state;
    slot.health = health;
    if (message === undefined) delete slot.message;
    else slot.message = message;
    slot.since = new Date();
  }

  /** Stops every running plugin, in reverse start order. */
  stopAll(): Promise<void> {
    return this.#serial(async () => {
      for (const id of [...this.#order].reverse()) await this.#stop(this.#slot(id), "shutdown");
    });
  }

  /** Starts a plugin at runtime; its needs must be running. */
  enable(id: string, config: { enabled: boolean }): Promise<void> {
    return this.#serial(async () => {
      const slot = this.#slot(id);
      if (slot.state === "running") return;
      const down = slot.plugin.needs.filter((n) => this.#slot(n).state !== "running");
      if (down.length) {
        throw new PluginError(
          id,
          `Plugin "${id}" needs ${down.map((d) => `"${d}"`).join(", ")}: enable it first`,
          "conflict",
        );
      }
      try {
        await this.#start(slot, { ...config, enabled: true });
      } catch (err) {
        throw new PluginError(id, `Plugin "${id}" failed to start: ${errText(err)}`);
      }
    });
  }

  /** Stops a plugin at runtime; refused while a running plugin needs it. */
  disable(id: string): Promise<void> {
    return this.#serial(async () => {
      const slot = this.#slot(id);
      const dependents = [...this.#slots.values()].filter((s) =>
        s.state === "running" && s.plugin.needs.includes(id)
      );
      if (dependents.length) {
        throw new PluginError(
          id,
          `Plugin "${id}" is needed by ${
            dependents.map((d) => `"${d.plugin.id}"`).join(", ")
          }: disable those first`,
          "conflict",
        );
      }
      await this.#stop(slot, "disable");
      slot.enabled = false;
    });
  }

  list(): PluginStatus[] {
    return this.#order.map((id) => {
      const s = this.#slot(id);
      return {
        id,
        description: s.plugin.description,
        needs: [...s.plugin.needs],
        enabled: s.enabled,
        state: s.state,
        health: s.health,
        ...(s.message !== undefined ? { message: s.message } : {}),
        since: s.since.toISOString(),
      };
    });
  }

  /** Sub-apps of running plugins, mounted by the API under /v1/plugins/<id>. */
  routes(): Array<{ plugin: string; path: string; app: Hono }> {
    return [...this.#slots.values()].flatMap((s) =>
      [...s.routes].map(([path, app]) => ({ plugin: s.plugin.id, path, app }))
    );
  }

  has(id: string): boolean {
    return this.#slots.has(id);
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
