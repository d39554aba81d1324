// The running load balancer of one node: follows the state tables (services, EndpointSlices,
// endpoints, nodes), computes the frontends this node serves (frontends.ts) and writes them
// (writer.ts), all through one serial queue, so table events that arrive while a write runs
// coalesce into the next one. Until the cluster store's first sync nothing is written: a
// restarted agent must not replace what the pinned maps serve with an empty table.
import type { PluginContext } from "../../core/plugin/mod.ts";
import type { LbConfig } from "./config.ts";
import { type AttachReport, LbDatapath } from "./datapath.ts";
import { computeFrontends, type Frontend, type FrontendSet, type LbProblem } from "./frontends.ts";
import { collectLbExpired } from "./gc.ts";
import { HealthChecks } from "./health_check.ts";
import { LbWriter, type WriteReport } from "./writer.ts";

export interface BalancerStatus {
  ready: boolean;
  frontends: number;
  backends: number;
  lastApply: (Omit<WriteReport, "problems"> & { at: string }) | null;
  attach: AttachReport | null;
  problems: LbProblem[];
  healthChecks: Array<{ port: number; service: string; localEndpoints: number; error?: string }>;
}

export class Balancer {
  readonly datapath: LbDatapath;
  readonly #ctx: PluginContext<LbConfig>;
  readonly #writer: LbWriter;
  readonly #health: HealthChecks;
  #set: FrontendSet = { frontends: [], problems: [] };
  #writeProblems: LbProblem[] = [];
  #lastApply: BalancerStatus["lastApply"] = null;
  #attach: AttachReport | null = null;
  #ready = false;
  #stopped = false;
  #queue: Promise<void> = Promise.resolve();
  #pending = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #gcTimer: ReturnType<typeof setInterval> | undefined;
  #unsubscribe: Array<() => void> = [];

  private constructor(ctx: PluginContext<LbConfig>, datapath: LbDatapath) {
    this.#ctx = ctx;
    this.datapath = datapath;
    const { config } = ctx;
    this.#writer = new LbWriter(datapath.maps, {
      maglevM: config.maglev.tableSize,
      seed: config.maglev.seed || `hypha/${ctx.cluster}`,
      dsr: config.mode === "dsr",
    });
    this.#health = new HealthChecks(ctx.log);
  }

  /** Loads the datapath; serving starts once the cluster store has synced. */
  static start(ctx: PluginContext<LbConfig>): Balancer {
    if (!ctx.datapath) {
      throw new Error(
        "the lb plugin needs pod networking on this node (networking.enabled: true)",
      );
    }
    const b = new Balancer(ctx, LbDatapath.load(ctx.datapath));
    const s = ctx.state;
    for (const table of [s.services, s.endpointSlices, s.endpoints, s.nodes]) {
      b.#unsubscribe.push(
        (table as { subscribe(fn: () => void): () => void }).subscribe(() => b.schedule()),
      );
    }
    ctx.synced.then(() => {
      if (b.#stopped) return;
      b.#ready = true;
      b.schedule(0);
      b.#gcTimer = setInterval(() => b.#collect(), ctx.config.conntrackGC * 1000);
    });
    return b;
  }

  /** Recomputes soon; bursts of table events coalesce. */
  schedule(delayMs = 20): void {
    if (!this.#ready || this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#enqueue(), delayMs);
  }

  #enqueue(): void {
    if (this.#pending) return;
    this.#pending = true;
    this.#queue = this.#queue.then(async () => {
      this.#pending = false;
      if (this.#stopped) return;
      try {
        await this.#reconcile();
      } catch (err) {
        this.#ctx.log.error("load balancer reconcile failed; will retry", { error: String(err) });
        this.#ctx.reportHealth("degraded", String(err));
        this.schedule(1000);
      }
    });
  }

  /** Resolves when the writes queued so far are done (tests, benchmarks). */
  async settle(): Promise<void> {
    await this.#queue;
  }

  async #reconcile(): Promise<void> {
    const { state, config, node } = this.#ctx;
    const self = state.nodes.get(node);
    this.#set = computeFrontends({
      node,
      nodeAddresses: self?.addresses ?? [],
      services: state.services.list().map((r) => r.service),
      slices: state.endpointSlices.list().map((r) => r.slice),
      endpoints: state.endpoints.list(),
      defaultAlgorithm: config.algorithm,
    });
    const report = this.#writer.apply(this.#set.frontends);
    this.#writeProblems = report.problems;
    const { problems: _p, ...rest } = report;
    this.#lastApply = { ...rest, at: new Date().toISOString() };
    if (!this.#attach) {
      this.#attach = this.datapath.attach({ socketLB: config.socketLB, xdp: config.xdp });
      this.#ctx.log.info("load balancer attached", {
        hooks: this.#attach.hooks,
        socketLinks: JSON.stringify(this.#attach.socketLinks),
        xdp: this.#attach.xdp.join(",") || "off",
      });
    }
    const writes = report.frontends.added + report.frontends.updated + report.frontends.removed +
      report.slots.added + report.slots.updated + report.slots.removed + report.backends.added +
      report.backends.updated + report.backends.removed + report.maglev.written +
      report.maglev.removed;
    if (writes) {
      this.#ctx.log.info("services programmed", {
        frontends: this.#set.frontends.length,
        writes,
        ms: Math.round(report.ms),
      });
    }
    if (config.healthCheck) await this.#health.reconcile(this.#healthChecks());
    const errors = [
      ...report.frontends.errors,
      ...report.slots.errors,
      ...report.backends.errors,
      ...report.sourceRanges.errors,
    ];
    this.#ctx.reportHealth(
      errors.length ? "degraded" : "ok",
      errors.length ? errors.map((e) => e.message).join("; ") : undefined,
    );
  }

  /** healthCheckNodePort servers: one per Local service that has one, counting local backends. */
  #healthChecks(): Array<{ port: number; service: string; localEndpoints: number }> {
    const out = new Map<number, { port: number; service: string; localEndpoints: number }>();
    for (const r of this.#ctx.state.services.list()) {
      const svc = r.service;
      if (svc.healthCheckNodePort === undefined || svc.externalTrafficPolicy !== "Local") continue;
      const name = `${svc.namespace}/${svc.name}`;
      const local = new Set(
        this.#set.frontends.filter((f) => f.service === name && f.external)
          .flatMap((f) => f.backends.filter((b) => b.active && b.local).map((b) => b.ip)),
      );
      out.set(svc.healthCheckNodePort, {
        port: svc.healthCheckNodePort,
        service: name,
        localEndpoints: local.size,
      });
    }
    return [...out.values()];
  }

  #collect(): void {
    try {
      const r = collectLbExpired(this.datapath.maps, (id) => this.#affinityTimeout(id));
      if (r.deleted) this.#ctx.log.debug("load balancer conntrack collected", { ...r });
    } catch (err) {
      this.#ctx.log.warn("load balancer conntrack collection failed", { error: String(err) });
    }
  }

  #affinityTimeout(frontendId: number): number | undefined {
    for (const f of this.#set.frontends) {
      if (this.#writer.frontendIds.get(f.key) === frontendId) return f.affinityTimeoutSeconds;
    }
    return undefined;
  }

  frontends(): readonly Frontend[] {
    return this.#set.frontends;
  }

  frontendId(key: string): number | undefined {
    return this.#writer.frontendIds.get(key);
  }

  backendId(ip: string, port: number, protocol: string): number | undefined {
    return this.#writer.backendIds.get(`${ip}|${port}|${protocol}`);
  }

  status(): BalancerStatus {
    const backends = new Set(
      this.#set.frontends.flatMap((f) => f.backends.map((b) => `${b.ip}|${b.port}|${b.protocol}`)),
    );
    return {
      ready: this.#ready && this.#lastApply !== null,
      frontends: this.#set.frontends.length,
      backends: backends.size,
      lastApply: this.#lastApply,
      attach: this.#attach,
      problems: [...this.#set.problems, ...this.#writeProblems],
      healthChecks: this.#health.list(),
    };
  }

  /**
   * "shutdown": the datapath keeps serving what the maps hold (the agent comes back and adopts
   * it). "disable": core's stages take the packets back and everything of the plugin goes.
   */
  async stop(reason: "shutdown" | "disable"): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#gcTimer);
    for (const u of this.#unsubscribe.splice(0)) u();
    await this.#queue;
    await this.#health.close();
    if (reason === "disable") {
      this.datapath.remove();
    } else {
      this.datapath.close();
    }
  }
}
