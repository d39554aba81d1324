// The node's flow observability, composed from config: the store, the optional export file and
// the peer listener, with the views the admin API serves (query, follow, cluster, stats). The
// agent makes one, feeds it every datapath event (`addEvent`; `add` takes flows already made) and
// every loss before the store (`reportLost`), and stops it on shutdown.
import type { HyphaConfig } from "../config/schema.ts";
import type { Logger } from "../plugin/plugin.ts";
import type { FlowDecoder } from "./decode.ts";
import type { Flow } from "./flow.ts";
import type { LostEventSource } from "./events.ts";
import { type ExporterStats, FlowExporter } from "./export.ts";
import { compileFilters } from "./filter.ts";
import { type ClusterFlows, type PeerNode, queryCluster } from "./peer_client.ts";
import { type PeerServer, readPeerToken, servePeer } from "./peer_server.ts";
import { type FlowQuery, parseFilterSpec } from "./query.ts";
import { FlowStore, type FlowStoreStats } from "./store.ts";
import type { FlowSubscription } from "./subscription.ts";

export type ObservabilityConfig = HyphaConfig["observability"];

/** The peer listener's port when observability.peer.listen leaves it to the agent. */
export const PEER_PORT = 4245;

export interface FlowObserverOptions {
  nodeName: string;
  config: ObservabilityConfig;
  /** The cluster's nodes (core's state table `nodes`); this node is recognised by name. */
  nodes: () => readonly PeerNode[];
  /** Where the peer listener binds when config.peer.listen is "": the node's address and the
   * default port (the agent passes it once the node has an address; without one, and without a
   * configured listen address, no listener starts). */
  defaultPeerListen?: string;
  /** Makes flows of the datapath's events (needed for addEvent). */
  decoder?: FlowDecoder;
  logger?: Logger;
}

/** GET /v1/flows. */
export interface FlowsAnswer {
  flows: Flow[];
  stats: {
    returned: number;
    size: number;
    capacity: number;
    seen: number;
    evicted: number;
  };
}

/** GET /v1/flows?cluster=true. */
export interface ClusterFlowsAnswer extends ClusterFlows {
  stats: { returned: number; nodes: number; unreachable: number };
}

export interface ObserverStats extends FlowStoreStats {
  export: ExporterStats | null;
  /** The peer listener's address (or why it is not listening) and how many other nodes the
   * cluster view asks. */
  peer: { listening: string | null; error?: string; cluster: number };
}

/** What the admin API needs (core/api/backend.ts AdminBackend.flows). */
export interface FlowsView {
  query(q: FlowQuery): FlowsAnswer;
  follow(q: FlowQuery, signal?: AbortSignal): FlowSubscription;
  cluster(q: FlowQuery, signal?: AbortSignal): Promise<ClusterFlowsAnswer>;
  stats(): ObserverStats;
}

export class FlowObserver implements FlowsView {
  readonly store: FlowStore;
  readonly #opts: FlowObserverOptions;
  readonly #peerPort: number;
  #exporter: FlowExporter | undefined;
  #peer: PeerServer | undefined;
  #token: string | undefined;
  #peerError: string | undefined;

  /** The store only; `start()` opens the export file and the peer listener. */
  constructor(opts: FlowObserverOptions) {
    this.#opts = opts;
    this.store = new FlowStore({
      capacity: opts.config.store.capacity,
      subscriberBuffer: opts.config.subscriberBuffer,
      nodeName: opts.nodeName,
      ...(opts.decoder ? { decoder: opts.decoder } : {}),
    });
    const listen = opts.config.peer.listen || opts.defaultPeerListen || `:${PEER_PORT}`;
    this.#peerPort = Number(listen.slice(listen.lastIndexOf(":") + 1));
  }

  /**
   * Opens the export file and starts the peer listener. A bad token file or export path throws
   * (and undoes what started); a listener that cannot bind is logged and shown in stats.
   * Nothing starts when observability.enabled is false.
   */
  async start(): Promise<void> {
    const { config, logger } = this.#opts;
    if (!config.enabled) return; // observability off: no file, no listener
    try {
      this.#token = await readPeerToken(config.peer.tokenFile);
      if (config.export.path) {
        let lastLog = 0;
        this.#exporter = await FlowExporter.open({
          path: config.export.path,
          maxSizeBytes: config.export.maxSizeMB * 1024 * 1024,
          maxBackups: config.export.maxBackups,
          ...(config.export.filter
            ? { filter: compileFilters(parseFilterSpec(config.export.filter)) }
            : {}),
          onError: (err) => {
            if (Date.now() - lastLog < 60_000) return; // counted in stats; log once a minute
            lastLog = Date.now();
            logger?.warn("flow export: write failed", { error: err.message });
          },
        });
      }
      const listen = config.peer.listen || this.#opts.defaultPeerListen;
      if (config.peer.enabled && listen) {
        // Not fatal: without the listener this node's flows are missing from other nodes'
        // cluster view (they say so), everything else works.
        try {
          this.#peer = servePeer(listen, {
            nodeName: this.#opts.nodeName,
            query: (q) => this.#local(q),
            ...(this.#token ? { token: this.#token } : {}),
          });
          this.#peerError = undefined;
        } catch (err) {
          this.#peerError = (err as Error).message;
          logger?.warn("flow peer listener not started", { error: this.#peerError });
        }
        if (this.#peer && !this.#token) {
          logger?.warn("flow peer listener has no token: any host that reaches it reads flows", {
            listen: this.#peer.address,
          });
        }
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** One decoded flow: stored, offered to followers, exported. Never waits. */
  add(flow: Flow): void {
    this.store.add(flow);
    this.#exporter?.add(flow);
  }

  /** One datapath event (a ring buffer record): stored, and made a Flow for the followers and
   * the export when there are any. Never waits; throws on a malformed record. */
  addEvent(record: Uint8Array): void {
    const flow = this.store.addEvent(record, this.#exporter !== undefined);
    if (flow) this.#exporter?.add(flow);
  }

  /** Events lost before the store (the datapath's ring buffer, the decoder's queue). */
  reportLost(source: LostEventSource, count: number): void {
    this.store.reportLost(source, count);
  }

  query(q: FlowQuery): FlowsAnswer {
    const flows = this.#local(q);
    const s = this.store.stats();
    return {
      flows,
      stats: {
        returned: flows.length,
        size: s.size,
        capacity: s.capacity,
        seen: s.seen,
        evicted: s.evicted,
      },
    };
  }

  follow(q: FlowQuery, signal?: AbortSignal): FlowSubscription {
    return this.store.follow(compileFilters(q.filters), {
      ...(q.last !== undefined ? { last: q.last } : {}),
      ...(q.since !== undefined ? { since: q.since } : {}),
      ...(signal ? { signal } : {}),
    });
  }

  async cluster(q: FlowQuery, signal?: AbortSignal): Promise<ClusterFlowsAnswer> {
    const r = await queryCluster(
      { name: this.#opts.nodeName, flows: this.#local(q) },
      this.#opts.nodes(),
      q,
      {
        port: this.#peerPort,
        ...(this.#token ? { token: this.#token } : {}),
        ...(signal ? { signal } : {}),
      },
    );
    return {
      ...r,
      stats: {
        returned: r.flows.length,
        nodes: r.nodes.length,
        unreachable: r.nodes.filter((n) => !n.ok).length,
      },
    };
  }

  stats(): ObserverStats {
    return {
      ...this.store.stats(),
      export: this.#exporter?.stats() ?? null,
      peer: {
        listening: this.#peer?.address ?? null,
        ...(this.#peerError ? { error: this.#peerError } : {}),
        cluster: this.#opts.nodes().filter((n) => n.name !== this.#opts.nodeName).length,
      },
    };
  }

  /** Ends every follower, flushes and closes the export file, stops the peer listener. */
  async stop(): Promise<void> {
    this.store.close();
    const exporter = this.#exporter;
    const peer = this.#peer;
    this.#exporter = undefined;
    this.#peer = undefined;
    await Promise.all([exporter?.close(), peer?.close()]);
  }

  #local(q: FlowQuery): Flow[] {
    return this.store.query(compileFilters(q.filters), {
      ...(q.since !== undefined ? { since: q.since } : {}),
      ...(q.until !== undefined ? { until: q.until } : {}),
      ...(q.last !== undefined ? { last: q.last } : {}),
      ...(q.first !== undefined ? { first: q.first } : {}),
    });
  }
}
