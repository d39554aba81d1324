// The node's flow observability, composed from config: the store, the optional export file and
// the peer listener, with the views the admin API serves (query, follow, cluster, stats). The
// agent makes one, feeds it every datapath event (`addEvent`; `add` takes flows already made) and
// every loss before the store (`reportLost`), and stops it on shutdown.
//
// Flow peers (observability.peer) are mutual TLS when observability.peer.tls names the files,
// for the listener and for the cluster view's requests alike. Without TLS the listener serves
// only on loopback, unless observability.peer.insecure says to serve plain HTTP on the network;
// otherwise it does not start, and says why (log and stats). A peer problem never stops the
// agent: flows stay available on this node, the cluster view reports what it could not ask.
import type { HyphaConfig } from "../config/schema.ts";
import { isLoopbackHost, parseHostPort } from "../config/host_port.ts";
import type { Logger } from "../plugin/plugin.ts";
import { loadTlsMaterial, mutualTlsClientOptions, type TlsMaterial } from "../tls/mod.ts";
import type { FlowDecoder } from "./decode.ts";
import type { Flow } from "./flow.ts";
import type { LostEventSource } from "./events.ts";
import { type ExporterStats, FlowExporter } from "./export.ts";
import { compileFilters } from "./filter.ts";
import { type ClusterFlows, type PeerNode, queryCluster } from "./peer_client.ts";
import { type PeerServer, servePeer } from "./peer_server.ts";
import { type FlowQuery, limitQuery, parseFilterSpec } from "./query.ts";
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
  stats: { returned: number; nodes: number; unreachable: number; maxFlows: number };
}

export interface PeerStats {
  /** The listener's address, or null (then `error` says why, unless peers are off). */
  listening: string | null;
  /** "mtls": mutual TLS; "plain": HTTP on loopback, or on the network when insecure. */
  mode: "mtls" | "plain" | null;
  error?: string;
  /** How many other nodes the cluster view asks. */
  cluster: number;
  maxFlows: number;
}

export interface ObserverStats extends FlowStoreStats {
  export: ExporterStats | null;
  peer: PeerStats;
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
  /** The cluster view's mTLS client (with observability.peer.tls). */
  #client: Deno.HttpClient | undefined;
  #peerError: string | undefined;
  /** Why the cluster view cannot ask peers at all (the TLS files failed). */
  #clientError: string | undefined;

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
   * Opens the export file and starts the peer listener. A bad export path throws (and undoes
   * what started); a peer listener that cannot or must not start (bad TLS files, a port taken,
   * the network without TLS) is logged and shown in stats. Nothing starts when
   * observability.enabled is false.
   */
  async start(): Promise<void> {
    const { config, logger } = this.#opts;
    if (!config.enabled) return; // observability off: no file, no listener
    try {
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
      await this.#startPeer();
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /**
   * The cluster view's client and (when observability.peer.enabled) the peer listener. Not
   * fatal: without the listener this node's flows are missing from other nodes' cluster view
   * (they say so); everything else works.
   */
  async #startPeer(): Promise<void> {
    const { config, logger } = this.#opts;
    const peer = config.peer;
    const refuse = (message: string) => {
      this.#peerError = message;
      logger?.error(message);
    };
    let tls: TlsMaterial | undefined;
    if (peer.tls.cert) {
      try {
        tls = await loadTlsMaterial(peer.tls, "observability.peer.tls");
      } catch (err) {
        this.#clientError = `not asked: ${(err as Error).message}`;
        return refuse(
          `Flow peer listener and cluster view requests are off: ${(err as Error).message}`,
        );
      }
      for (const w of tls.warnings) logger?.warn(w);
      this.#client = Deno.createHttpClient(mutualTlsClientOptions(tls));
    }
    const listen = peer.listen || this.#opts.defaultPeerListen;
    if (!peer.enabled || !listen) return; // off, or no address yet to listen on
    const host = parseHostPort(listen)?.hostname ?? "";
    if (!tls && !isLoopbackHost(host)) {
      if (!peer.insecure) {
        return refuse(
          `Flow peer listener not started: ${listen} is not loopback and observability.peer.tls ` +
            "is not set (set tls.ca, tls.cert and tls.key, see hypha certs; or insecure: true " +
            "to serve flows unauthenticated)",
        );
      }
      logger?.warn(
        "flow peer listener serves flows WITHOUT authentication (observability.peer.insecure): " +
          "any host that reaches it reads them",
        { listen },
      );
    }
    try {
      this.#peer = await servePeer(listen, {
        nodeName: this.#opts.nodeName,
        query: (q) => this.#local(q),
        maxFlows: peer.maxFlows,
        ...(tls ? { tls } : {}),
      });
      this.#peerError = undefined;
    } catch (err) {
      this.#peerError = (err as Error).message;
      logger?.warn("flow peer listener not started", { error: this.#peerError });
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
    const { peer } = this.#opts.config;
    const r = await queryCluster(
      { name: this.#opts.nodeName, flows: this.#local(limitQuery(q, peer.maxFlows)) },
      this.#opts.nodes(),
      q,
      {
        port: this.#peerPort,
        maxFlows: peer.maxFlows,
        insecure: peer.insecure,
        ...(this.#client ? { tls: true, client: this.#client } : {}),
        ...(this.#clientError ? { unavailable: this.#clientError } : {}),
        ...(signal ? { signal } : {}),
      },
    );
    return {
      ...r,
      stats: {
        returned: r.flows.length,
        nodes: r.nodes.length,
        unreachable: r.nodes.filter((n) => !n.ok).length,
        maxFlows: peer.maxFlows,
      },
    };
  }

  stats(): ObserverStats {
    return {
      ...this.store.stats(),
      export: this.#exporter?.stats() ?? null,
      peer: {
        listening: this.#peer?.address ?? null,
        mode: this.#peer ? (this.#peer.tls ? "mtls" : "plain") : null,
        ...(this.#peerError ? { error: this.#peerError } : {}),
        cluster: this.#opts.nodes().filter((n) => n.name !== this.#opts.nodeName).length,
        maxFlows: this.#opts.config.peer.maxFlows,
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
    this.#client?.close();
    this.#client = undefined;
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
