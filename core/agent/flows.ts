// The node's flows, wired: the datapath's events (ring buffer) -> observer (store, followers,
// export, peers; its decoder has the node's state as context), plus the flow and traffic metrics.
import { bootToWallNs } from "../bpf/mod.ts";
import type { HyphaConfig } from "../config/schema.ts";
import type { HostDatapath } from "../datapath/host.ts";
import { NodeFlowContext } from "../flows/context.ts";
import { FlowDecoder, type InterfaceKind } from "../flows/decode.ts";
import { flowEventOffsets } from "../bpf/generated/host.ts";
import { eventTypeName, VERDICT_BY_CODE } from "../flows/flow.ts";
import { FlowObserver, PEER_PORT } from "../flows/observer.ts";
import { FlowReader, type FlowReaderStats } from "../flows/reader.ts";
import type { Metrics } from "../metrics/registry.ts";
import type { Logger } from "../plugin/plugin.ts";
import type { State } from "../state/mod.ts";
import type { Networking } from "./networking.ts";
import { selectDevices } from "./devices.ts";
import { readSysNumber } from "../netlink/sysfs.ts";

export interface NodeFlowsOptions {
  config: HyphaConfig;
  state: State;
  host: HostDatapath;
  /** Pod networking, when it runs (policies and the tunnel device come from it). */
  networking: () => Networking | undefined;
  metrics: Metrics;
  log: Logger;
}

type Labels = Record<string, string>;

export class NodeFlows {
  readonly observer: FlowObserver;
  readonly #o: NodeFlowsOptions;
  readonly #context: NodeFlowContext;
  /** Events by type and verdict code (type << 8 | verdict). */
  readonly #processed = new Map<number, { labels: Labels; n: number }>();
  #reader: FlowReader | undefined;
  #interfaces = { at: 0, tunnel: -1, uplinks: new Set<number>() };

  constructor(o: NodeFlowsOptions) {
    this.#o = o;
    const { config, state } = o;
    const address = o.networking()?.network.addresses.v4;
    this.#context = new NodeFlowContext({
      nodeName: config.node.name,
      cluster: config.node.cluster,
      state,
      bootToWallNs: bootToWallNs(),
      rule: (id) => o.networking()?.policy.rule(id),
      identityCidr: (id) => o.networking()?.policy.identityCidr(id),
      interfaceKind: (ifindex) => this.#interfaceKind(ifindex),
    });
    this.observer = new FlowObserver({
      nodeName: config.node.name,
      config: config.observability,
      nodes: () => state.nodes.list(),
      // other nodes reach this one at its address (only nodes with pod networking have one)
      ...(address ? { defaultPeerListen: `${address}:${PEER_PORT}` } : {}),
      decoder: new FlowDecoder(this.#context),
      logger: o.log,
    });
    this.#registerMetrics();
  }

  /** Starts the observer (export, peers) and, when observability is on, the event reader. */
  async start(): Promise<void> {
    await this.observer.start();
    if (!this.#o.config.observability.enabled) return;
    const maps = this.#o.host.clusterMaps;
    this.#reader = new FlowReader({
      events: maps.events,
      stats: maps.eventStats,
      sink: (record) => this.#add(record),
      behind: () => this.observer.store.followersBehind(),
      onLost: (n) => this.observer.reportLost("PERF_EVENT_RING_BUFFER", n),
      log: this.#o.log,
    });
    this.#reader.start();
  }

  #add(record: Uint8Array): void {
    this.observer.addEvent(record); // first: it throws on a malformed record
    const type = record[flowEventOffsets.type]!;
    const verdict = record[flowEventOffsets.verdict]!;
    const key = (type << 8) | verdict;
    const row = this.#processed.get(key);
    if (row) row.n++;
    else {
      const labels = {
        type: eventTypeName({ Type: "L3_L4", event_type: { type } }),
        verdict: VERDICT_BY_CODE[verdict] ?? "ERROR",
      };
      this.#processed.set(key, { labels, n: 1 });
    }
  }

  readerStats(): FlowReaderStats | null {
    return this.#reader?.stats() ?? null;
  }

  // Uplinks and the tunnel device are named in config; every other interface a drop happens on
  // is a pod's veth (core attaches only to those three kinds). Looked up per drop event, so the
  // ifindexes are read from sysfs at most every 10 s.
  #interfaceKind(ifindex: number): InterfaceKind {
    if (Date.now() - this.#interfaces.at > 10_000) {
      const { config } = this.#o;
      const tunnel = config.networking.routing === "tunnel"
        ? readSysNumber(config.networking.tunnelDevice, "ifindex")
        : -1;
      const { devices } = selectDevices(config.datapath.devices);
      this.#interfaces = {
        at: Date.now(),
        tunnel,
        uplinks: new Set(devices.map((d) => d.ifindex)),
      };
    }
    if (ifindex === this.#interfaces.tunnel) return "overlay";
    return this.#interfaces.uplinks.has(ifindex) ? "network" : "endpoint";
  }

  #registerMetrics(): void {
    const m = this.#o.metrics;
    m.collector(
      "hypha_flows_processed_total",
      "Flow events taken from the datapath, by event type and verdict.",
      "counter",
      () => [...this.#processed.values()].map((r): [Labels, number] => [r.labels, r.n]),
    );
    m.collector(
      "hypha_flow_events_lost_total",
      "Flow events lost, by where: the datapath's ring buffer was full (ring_buffer), or a " +
        "follower read too slowly (subscriber).",
      "counter",
      () => [
        [
          { source: "ring_buffer" },
          this.observer.store.stats().lostBefore.PERF_EVENT_RING_BUFFER ?? 0,
        ],
        [{ source: "subscriber" }, this.observer.store.stats().subscriberDrops],
      ],
    );
    m.collector(
      "hypha_flow_drop_events_limited_total",
      "Drop events the datapath did not report (over observability.dropEventsPerSecond); the " +
        "drops themselves are in hypha_drop_packets_total.",
      "counter",
      () => [[{}, this.#reader?.stats().limited ?? 0]],
    );
    m.collector(
      "hypha_flows_stored",
      "Flows in the node's flow store.",
      "gauge",
      () => [[{}, this.observer.store.size]],
    );
    const traffic = (forwarded: boolean, field: "packets" | "bytes") => () =>
      this.#o.host.traffic().filter((r) => (r.reason === "") === forwarded).map((
        r,
      ): [Labels, number] => [
        forwarded ? { direction: r.direction } : { reason: r.reason, direction: r.direction },
        r[field],
      ]);
    const hook = "direction is the tc hook's: ingress for packets entering through a device " +
      "(an uplink, or a pod's veth as the pod sends), egress for packets leaving through one.";
    m.collector(
      "hypha_forward_packets_total",
      `Packets the datapath forwarded, counted at every tc hook they pass; ${hook}`,
      "counter",
      traffic(true, "packets"),
    );
    m.collector(
      "hypha_forward_bytes_total",
      `Bytes the datapath forwarded, counted at every tc hook they pass; ${hook}`,
      "counter",
      traffic(true, "bytes"),
    );
    m.collector(
      "hypha_drop_packets_total",
      `Packets the datapath dropped, by reason; ${hook}`,
      "counter",
      traffic(false, "packets"),
    );
    m.collector(
      "hypha_drop_bytes_total",
      `Bytes the datapath dropped, by reason; ${hook}`,
      "counter",
      traffic(false, "bytes"),
    );
    m.collector(
      "hypha_conntrack_entries",
      "Connections tracked by the datapath (hypha_ct), both directions of a connection counted.",
      "gauge",
      () => [[{}, this.#o.host.clusterMaps.ct.count()]],
    );
  }

  async stop(): Promise<void> {
    await this.#reader?.stop();
    this.#reader = undefined;
    this.#context[Symbol.dispose]();
    await this.observer.stop();
  }
}
