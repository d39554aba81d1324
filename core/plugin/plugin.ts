// A plugin is one exported value: id, description, config schema with defaults, what it needs,
// and paired start/stop. Plugins talk to core (and, through core's hooks and state, to each
// other) only via the PluginContext; they never import another plugin.
import type { Hono } from "hono";
import type { z } from "zod";
import type { BpfProgram, TcMode } from "../bpf/mod.ts";
import type { Metrics } from "../metrics/registry.ts";
import type { StateView } from "../state/mod.ts";
import type { PluginHooks } from "./hooks.ts";

export type Health = "ok" | "degraded" | "down";

/** BPF maps a plugin owns, so the API lists them with fill ratios and cleanup finds them. */
export interface MapRegistry {
  register(owner: string, map: OwnedMap): void;
  unregister(owner: string, name: string): void;
}

export interface OwnedMap {
  name: string;
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  pinned: string | null;
  count(): number;
  dump(limit: number): Array<{ key: unknown; value: unknown }>;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * The node's datapath as a plugin extends it. Present only where pod networking runs (the
 * shared maps and core's programs exist).
 */
export interface PluginDatapath {
  /** Where core pins the maps every datapath object shares (BpfObject.pinMaps with a filter). */
  readonly sharedMapsDir: string;
  /** A bpffs directory for this plugin's own pins (maps, links); gone with `hypha cleanup`. */
  readonly pinDir: string;
  /** A state directory for this plugin's files. */
  readonly stateDir: string;
  /** The node's uplinks (the devices core's host programs run on). */
  readonly devices: readonly string[];
  /** The cgroup v2 directory whose processes (pods and node processes) get socket hooks. */
  readonly cgroupRoot: string;
  readonly routing: "tunnel" | "native";
  readonly attachMode: TcMode;
  /**
   * Puts `program` into core's hook slot (bpf/lib/hooks.h, core/bpf/generated/hooks.ts), or
   * empties it with null. A slot already holding a program with the same instructions is left
   * alone (a restarted agent writes nothing); returns whether the slot changed.
   */
  setHook(slot: number, program: BpfProgram | null): boolean;
}

export interface PluginContext<C> {
  readonly id: string;
  readonly node: string;
  /** The cluster this node belongs to (node.cluster). */
  readonly cluster: string;
  readonly config: C;
  /** Resolves once the state tables reflect the cluster store (its first full sync). */
  readonly synced: Promise<void>;
  readonly datapath: PluginDatapath | undefined;
  readonly hooks: PluginHooks;
  readonly state: StateView;
  readonly maps: MapRegistry;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Mounts a sub-app under /v1/plugins/<id><path> while the plugin runs. */
  route(path: string, app: Hono): void;
  reportHealth(health: Health, message?: string): void;
  /** Runs `fn` when the plugin stops (after its stop()), in reverse registration order. */
  onDispose(fn: () => void | Promise<void>): void;
}

/**
 * Why a plugin stops: "shutdown" (the agent stops or restarts: what the plugin put in the
 * datapath stays and keeps forwarding, as core's does) or "disable" (switched off at runtime, or
 * unwound after a failed start: it removes its programs and maps).
 */
export type StopReason = "shutdown" | "disable";

export interface Plugin<C = unknown> {
  readonly id: string;
  readonly description: string;
  readonly config: z.ZodType<C>;
  /** Other plugin ids that must run first. */
  readonly needs: readonly string[];
  start(ctx: PluginContext<C>): void | Promise<void>;
  stop(reason: StopReason): void | Promise<void>;
}

export interface PluginDefinition<C> {
  id: string;
  description: string;
  config: z.ZodType<C>;
  needs?: string[];
  start(ctx: PluginContext<C>): void | Promise<void>;
  stop(reason: StopReason): void | Promise<void>;
}

const ID = /^[a-z][a-z0-9-]{0,31}$/;

export function definePlugin<C>(def: PluginDefinition<C>): Plugin<C> {
  if (!ID.test(def.id)) {
    throw new Error(`Invalid plugin id "${def.id}": lowercase letters, digits and '-' only`);
  }
  return Object.freeze({ ...def, needs: Object.freeze([...(def.needs ?? [])]) });
}
