// The node agent: start (probe, load/adopt the datapath, start plugins, serve the API, ready),
// graceful stop (the datapath stays attached and pinned) and everything the admin API shows.
import type { Hono } from "hono";
import { readTokenFile, TokenFileError } from "../api/token.ts";
import {
  type ApiServer,
  type AttachmentRow,
  type ConfigRow,
  type CounterRow,
  createApiApp,
  type DatapathStatus,
  type MapRow,
  NotFoundError,
  serveApi,
} from "../api/mod.ts";
import type {
  AdminBackend,
  EndpointRow,
  FlowEventStats,
  NetworkView,
  NodeRow,
  NodeStatus,
  RejectedRecordRow,
} from "../api/backend.ts";
import { cgroupV2Mount, linkWriteCount, mapWriteCount, probeFeatures } from "../bpf/mod.ts";
import type { KernelFeatures } from "../bpf/probe.ts";
import { ConfigError, describeConfig, loadConfig, type LoadedConfig } from "../config/mod.ts";
import { HostDatapath, type HostReconcile } from "../datapath/host.ts";
import { createLogger } from "../log.ts";
import { Metrics } from "../metrics/registry.ts";
import {
  Hooks,
  type Logger,
  type OwnedMap,
  type Plugin,
  type PluginDatapath,
  PluginHost,
  type PluginStatus,
} from "../plugin/mod.ts";
import { PLUGINS } from "../plugins_registry.ts";
import { createState, type State } from "../state/mod.ts";
import { VERSION } from "../version.ts";
import { join } from "node:path";
import { ensureBpffs } from "./bpffs.ts";
import { selectDevices } from "./devices.ts";
import { derivePaths, type NodePaths } from "./paths.ts";
import { registerAgentMetrics } from "./metrics.ts";
import {
  regenerationMetrics,
  registerNetworkMetrics,
  registerRejectedMetrics,
} from "./network_metrics.ts";
import { NodeFlows } from "./flows.ts";
import type { FlowsView } from "../flows/observer.ts";
import { Networking } from "./networking.ts";
import { validatePolicyText } from "./policy_api.ts";
import { validateServiceText } from "./service_api.ts";
import { serviceOptions } from "../service/options.ts";
import { parseHostPort } from "../config/host_port.ts";
import { damagedStateFiles, removeStaleTemps, writeStateFile } from "../state_files/mod.ts";

export interface AgentOptions {
  node?: string;
  configFile?: string;
  sets?: string[];
  denoJson?: string;
  plugins?: ReadonlyArray<Plugin<unknown>>;
  /** Where log lines go (default stderr). */
  logSink?: (line: string) => void;
}

/** Config layers from the CLI: --node is a shorthand for --set node.name=... */
export function configFlags(opts: Pick<AgentOptions, "node" | "sets">): string[] {
  return [...(opts.sets ?? []), ...(opts.node ? [`node.name=${opts.node}`] : [])];
}

/**
 * The config an agent with these options runs with. `requireNode: false` serves views that need
 * no node name (`hypha config --offline`).
 */
export async function loadAgentConfig(
  opts: AgentOptions,
  { requireNode = true } = {},
): Promise<LoadedConfig> {
  const plugins = opts.plugins ?? PLUGINS;
  const loaded = await loadConfig({
    ...(opts.denoJson ? { denoJson: opts.denoJson } : {}),
    ...(opts.configFile ? { nodeFile: opts.configFile } : {}),
    flags: configFlags(opts),
    pluginSchemas: Object.fromEntries(plugins.map((p) => [p.id, p.config])),
  });
  if (requireNode && !loaded.config.node.name) {
    throw new ConfigError([{
      path: "node.name",
      message: "is required to run the agent (--node NAME or node.name in the node file)",
    }]);
  }
  return loaded;
}

export class Agent implements AdminBackend {
  readonly paths: NodePaths;
  readonly log: Logger;
  readonly #loaded: LoadedConfig;
  readonly #features: KernelFeatures;
  readonly #datapath: HostDatapath;
  readonly #host: PluginHost;
  readonly #metrics: Metrics;
  readonly #state: State;
  readonly #ownedMaps: Map<string, { owner: string; map: OwnedMap }>;
  readonly #startedAt = new Date();
  readonly #baseline = { maps: mapWriteCount(), links: linkWriteCount() };
  #server: ApiServer | undefined;
  #networking: Networking | undefined;
  #flows: NodeFlows | undefined;
  #ready = false;
  /** Settles when the node is ready; rejects when bring-up failed for good (e.g. a conflict). */
  whenReady: Promise<void> = Promise.resolve();
  #lastReconcile: DatapathStatus["lastReconcile"] = null;
  #unwatchStateFiles: () => void = () => {};

  private constructor(
    loaded: LoadedConfig,
    log: Logger,
    features: KernelFeatures,
    datapath: HostDatapath,
    host: PluginHost,
    ownedMaps: Map<string, { owner: string; map: OwnedMap }>,
    metrics: Metrics,
    state: State,
  ) {
    this.#state = state;
    this.#ownedMaps = ownedMaps;
    this.#metrics = metrics;
    this.#loaded = loaded;
    this.paths = derivePaths(
      loaded.config.node.name,
      loaded.config.paths,
      loaded.config.api.socket,
    );
    this.log = log;
    this.#features = features;
    this.#datapath = datapath;
    this.#host = host;
  }

  static async start(opts: AgentOptions): Promise<Agent> {
    const loaded = await loadAgentConfig(opts);
    const { config } = loaded;
    const log = createLogger(`agent[${config.node.name}]`, config.log.level, opts.logSink);
    const paths = derivePaths(config.node.name, config.paths, config.api.socket);
    if ((await ensureBpffs(config.paths.bpffs)) === "mounted") {
      log.info("mounted bpffs", { path: config.paths.bpffs });
    }
    await Deno.mkdir(paths.stateDir, { recursive: true });

    const { devices, missing } = selectDevices(config.datapath.devices);
    if (missing.length) {
      throw new ConfigError(
        missing.map((name) => ({
          path: "datapath.devices",
          message: `interface "${name}" does not exist on this node`,
        })),
      );
    }
    const features = probeFeatures();
    for (const f of features.features) {
      log.info(`kernel feature ${f.available ? "+" : "-"} ${f.name}`, { detail: f.detail });
    }

    if (config.networking.enabled && devices.length === 0) {
      throw new ConfigError([{
        path: "datapath.devices",
        message: "pod networking needs a network device (the node's uplink); none found",
      }]);
    }
    const unwatchStateFiles = await watchStateDir(paths.stateDir, log);
    let datapath: HostDatapath;
    try {
      datapath = HostDatapath.load(paths, config.datapath.attachMode);
    } catch (err) {
      unwatchStateFiles();
      throw err;
    }
    const hooks = new Hooks((e) =>
      log.warn("hook handler failed", { event: e.event, plugin: e.owner, error: String(e.error) })
    );
    const plugins = opts.plugins ?? PLUGINS;
    let agent: Agent | undefined;
    const ownedMaps = new Map<string, { owner: string; map: OwnedMap }>();
    const metrics = new Metrics(); // shared with plugins: their metrics appear in /metrics
    const state: State = createState();
    const synced = Promise.withResolvers<void>();
    try {
      const host = new PluginHost(plugins, {
        node: config.node.name,
        cluster: config.node.cluster,
        synced: synced.promise,
        datapath: (id) =>
          agent && agent.#networking ? pluginDatapath(id, config, paths, datapath) : undefined,
        hooks,
        state,
        maps: {
          register: (owner, map) => ownedMaps.set(map.name, { owner, map }),
          unregister: (_owner, name) => ownedMaps.delete(name),
        },
        metrics,
        logger: (id) => createLogger(`plugin[${id}]`, config.log.level, opts.logSink),
      });
      for (const map of datapath.ownedMaps()) ownedMaps.set(map.name, { owner: "core", map });
      agent = new Agent(loaded, log, features, datapath, host, ownedMaps, metrics, state);
      agent.#unwatchStateFiles = unwatchStateFiles;
      agent.#reconcile(devices);
      if (config.networking.enabled) {
        agent.#networking = await Networking.create({
          config,
          paths,
          state,
          host: datapath,
          uplink: devices[0]!.name,
          log,
          onRegeneration: regenerationMetrics(metrics),
        });
      }
      const running = agent;
      agent.#flows = new NodeFlows({
        config,
        state,
        host: datapath,
        networking: () => running.#networking,
        metrics,
        log,
      });
      await agent.#flows.start();
      await host.startAll(config.plugins);
      registerAgentMetrics(agent.#metrics, {
        node: config.node.name,
        version: VERSION,
        startedAt: agent.#startedAt,
        counters: () => agent!.counters(),
        maps: () => agent!.maps(),
        plugins: () => host.list(),
        features,
      });
      if (agent.#networking) registerNetworkMetrics(metrics, agent.#networking, config.node.name);
      registerRejectedMetrics(metrics, state.rejected);
      agent.#server = await serveApi(createApiApp(agent), {
        socketPath: agent.paths.apiSocket,
        ...(await tcpListener(loaded, agent)),
      });
      await writeStateFile(
        join(paths.stateDir, "agent.json"),
        JSON.stringify({
          pid: Deno.pid,
          startedAt: agent.#startedAt.toISOString(),
          version: VERSION,
        }),
        { mode: 0o644 },
      );
      const ready = agent;
      agent.whenReady = (async () => {
        await ready.#networking?.bringUp();
        synced.resolve();
        ready.#ready = true;
        await hooks.emit("nodeReady", { node: config.node.name });
        log.info("ready", {
          socket: ready.paths.apiSocket,
          mapWrites: mapWriteCount() - ready.#baseline.maps,
          linkWrites: linkWriteCount() - ready.#baseline.links,
        });
      })();
      agent.whenReady.catch(() => {}); // observed by runAgent; a rejection is not unhandled
      return agent;
    } catch (err) {
      if (agent) await agent.stop();
      else {
        datapath.close();
        unwatchStateFiles();
      }
      throw err;
    }
  }

  #reconcile(devices = selectDevices(this.#loaded.config.datapath.devices).devices): HostReconcile {
    const r = this.#datapath.reconcile(devices, this.#loaded.config.datapath.counters);
    const errors = [
      ...r.devices.errors.map((e) => `device ${e.key}: ${e.message}`),
      ...r.attachments.errors.map((e) => `${e.ifname} ${e.direction}: ${e.message}`),
    ];
    this.#lastReconcile = { at: new Date().toISOString(), ok: errors.length === 0, errors };
    this.log.info("datapath reconciled", {
      devices: devices.map((d) => d.name).join(","),
      attached: r.attachments.attached,
      replaced: r.attachments.replaced,
      unchanged: r.attachments.unchanged,
      detached: r.attachments.detached,
      deviceWrites: r.devices.added + r.devices.updated + r.devices.removed,
    });
    if (errors.length) throw new Error(`Datapath reconcile failed: ${errors.join("; ")}`);
    return r;
  }

  /** Graceful stop: API and plugins stop; pinned maps and attached programs stay. */
  async stop(): Promise<void> {
    this.#ready = false;
    await this.#flows?.stop(); // ends --follow streams, which would hold the server open
    await this.#server?.close();
    this.#server = undefined;
    await this.#host.stopAll();
    await this.#networking?.stop();
    this.#datapath.close();
    this.#unwatchStateFiles();
    this.log.info("stopped; datapath left attached");
  }

  // --- AdminBackend ---

  node(): NodeStatus {
    const { node } = this.#loaded.config;
    return {
      name: node.name,
      cluster: node.cluster,
      version: VERSION,
      pid: Deno.pid,
      startedAt: this.#startedAt.toISOString(),
      ready: this.#ready,
      memory: Deno.memoryUsage(),
      damagedStateFiles: damagedStateFiles.under(this.paths.stateDir),
    };
  }

  features(): KernelFeatures {
    return this.#features;
  }

  datapath(): DatapathStatus {
    const { datapath } = this.#loaded.config;
    return {
      attachMode: datapath.attachMode,
      devices: selectDevices(datapath.devices).devices.map((d) => d.name),
      attachments: [
        ...this.#datapath.attachments(),
        ...(this.#networking?.attachments() ?? []),
      ] as AttachmentRow[],
      mapWrites: mapWriteCount() - this.#baseline.maps,
      linkWrites: linkWriteCount() - this.#baseline.links,
      lastReconcile: this.#lastReconcile,
    };
  }

  plugins(): PluginStatus[] {
    return this.#host.list();
  }

  async enablePlugin(id: string): Promise<void> {
    const section = this.#loaded.config.plugins[id] ?? { enabled: true };
    await this.#host.enable(id, { ...section, enabled: true });
    this.#setRuntimeToggle(id, true);
  }

  async disablePlugin(id: string): Promise<void> {
    await this.#host.disable(id);
    this.#setRuntimeToggle(id, false);
  }

  #setRuntimeToggle(id: string, enabled: boolean): void {
    this.#loaded.config.plugins[id] = { ...(this.#loaded.config.plugins[id] ?? {}), enabled };
    this.#loaded.provenance.set(`plugins.${id}.enabled`, "api");
  }

  config(): ConfigRow[] {
    return describeConfig(this.#loaded);
  }

  maps(): MapRow[] {
    return [...this.#ownedMaps.values()].map(({ owner, map }) => {
      const entries = map.count();
      return {
        name: map.name,
        owner,
        type: map.type,
        keySize: map.keySize,
        valueSize: map.valueSize,
        maxEntries: map.maxEntries,
        entries,
        fillRatio: map.maxEntries ? entries / map.maxEntries : 0,
        pinned: map.pinned,
      };
    }).sort((a, b) => a.name.localeCompare(b.name));
  }

  dumpMap(name: string, limit: number): Array<{ key: unknown; value: unknown }> {
    const owned = this.#ownedMaps.get(name);
    if (!owned) throw new NotFoundError(`No BPF map "${name}" (see GET /v1/bpf/maps)`);
    return owned.map.dump(limit);
  }

  counters(): CounterRow[] {
    return this.#datapath.counters();
  }

  metrics(): string {
    return this.#metrics.render();
  }

  flows(): FlowsView | undefined {
    return this.#flows?.observer;
  }

  flowEventStats(): FlowEventStats | null {
    const s = this.#flows?.readerStats();
    return s ? { sent: s.sent, lost: s.lost, limited: s.limited } : null;
  }

  pluginRoutes(): Array<{ plugin: string; path: string; app: Hono }> {
    return this.#host.routes();
  }

  network(): NetworkView | null {
    return this.#networking?.view() ?? null;
  }

  nodes(): NodeRow[] {
    return this.#networking?.nodes() ?? [];
  }

  rejectedRecords(): RejectedRecordRow[] {
    return this.#state.rejected.list().map((r) => ({ ...r, keeping: r.keeping ?? false }))
      .sort((a, b) =>
        a.kind.localeCompare(b.kind) || a.namespace.localeCompare(b.namespace) ||
        a.name.localeCompare(b.name)
      );
  }

  endpoints(): EndpointRow[] {
    return this.#networking?.endpointRows() ?? [];
  }

  endpoint(id: number): Record<string, unknown> {
    if (!this.#networking) throw new NotFoundError("Pod networking is disabled on this node");
    return this.#networking.endpoint(id);
  }

  #net(): Networking {
    if (!this.#networking) throw new NotFoundError("Pod networking is disabled on this node");
    return this.#networking;
  }

  policies(): Record<string, unknown> {
    return this.#net().policies();
  }

  applyPolicies(text: string): Promise<Record<string, unknown>> {
    return this.#net().applyPolicies(text);
  }

  deletePolicies(text: string): Promise<Record<string, unknown>> {
    return this.#net().deletePolicies(text);
  }

  validatePolicies(text: string): Array<{ path: string; message: string }> {
    return validatePolicyText(text);
  }

  tracePolicy(q: { from: string; to: string; port: string }): Record<string, unknown> {
    return this.#net().tracePolicy(q);
  }

  applyServices(text: string): Promise<Record<string, unknown>> {
    return this.#net().applyServices(text);
  }

  deleteServices(text: string): Promise<Record<string, unknown>> {
    return this.#net().deleteServices(text);
  }

  validateServices(text: string): Array<{ path: string; message: string }> {
    return validateServiceText(text, serviceOptions(this.#loaded.config.services));
  }

  async cni(body: unknown): Promise<{ status: number; body: unknown }> {
    if (!this.#networking) {
      return {
        status: 503,
        body: {
          error: { code: "unavailable", message: "Pod networking is disabled on this node" },
          cni: { code: 50, msg: "Pod networking is disabled on this node (networking.enabled)" },
        },
      };
    }
    return await this.#networking.cni.handle(body);
  }
}

/** What a plugin sees of the node's datapath (pod networking runs). */
function pluginDatapath(
  id: string,
  config: LoadedConfig["config"],
  paths: NodePaths,
  host: HostDatapath,
): PluginDatapath {
  const { devices } = selectDevices(config.datapath.devices);
  return {
    sharedMapsDir: paths.mapsDir,
    pinDir: join(paths.pinDir, "plugins", id),
    stateDir: join(paths.stateDir, "plugins", id),
    devices: devices.map((d) => d.name),
    cgroupRoot: config.datapath.cgroupRoot || cgroupV2Mount() || "",
    routing: config.networking.routing,
    attachMode: config.datapath.attachMode,
    setHook: (slot, program) => host.setHook(slot, program),
  };
}

async function tcpListener(
  loaded: LoadedConfig,
  agent: Agent,
): Promise<{ tcp?: { hostname: string; port: number; app: Hono } }> {
  const tcp = loaded.config.api.tcp;
  if (!tcp.enabled) return {};
  let token: string;
  try {
    token = await readTokenFile(tcp.tokenFile);
  } catch (err) {
    if (!(err instanceof TokenFileError)) throw err;
    throw new ConfigError([{ path: "api.tcp.tokenFile", message: err.message }]);
  }
  // api.tcp.listen was validated as host:port by the config schema
  return { tcp: { ...parseHostPort(tcp.listen)!, app: createApiApp(agent, { token }) } };
}

/**
 * Prepares the state directory for a run: temp files of writes a kill interrupted go, and every
 * damaged state file a reader finds from now on is logged. Returns the stop of the watch.
 */
async function watchStateDir(stateDir: string, log: Logger): Promise<() => void> {
  damagedStateFiles.forget(stateDir);
  const unwatch = damagedStateFiles.watch(
    stateDir,
    (d) =>
      log.warn("damaged state file", { file: d.path, problem: d.problem, recovery: d.recovery }),
  );
  const stale = await removeStaleTemps(stateDir);
  if (stale.length) {
    log.info("removed temp files of interrupted writes", { files: stale.join(",") });
  }
  return unwatch;
}
