// The agent's Prometheus metrics, collected at scrape time from the datapath and the plugin host.
import type { KernelFeatures } from "../bpf/probe.ts";
import { linkWriteCount, mapWriteCount } from "../bpf/mod.ts";
import type { Metrics } from "../metrics/registry.ts";
import type { PluginStatus } from "../plugin/host.ts";
import type { CounterRow, MapRow } from "../api/backend.ts";

export interface MetricSources {
  node: string;
  version: string;
  startedAt: Date;
  counters(): CounterRow[];
  maps(): MapRow[];
  plugins(): PluginStatus[];
  features: KernelFeatures;
}

export function registerAgentMetrics(m: Metrics, s: MetricSources): void {
  m.collector(
    "hypha_agent_info",
    "Agent build and node; always 1.",
    "gauge",
    () => [[{ node: s.node, version: s.version }, 1]],
  );
  m.collector(
    "hypha_agent_start_time_seconds",
    "Unix time the agent started.",
    "gauge",
    () => [[{}, s.startedAt.getTime() / 1000]],
  );
  m.collector(
    "hypha_bpf_map_writes_total",
    "BPF map writes by this agent process.",
    "counter",
    () => [[{}, mapWriteCount()]],
  );
  m.collector(
    "hypha_bpf_link_writes_total",
    "Program attach/replace/detach operations by this agent process.",
    "counter",
    () => [[{}, linkWriteCount()]],
  );
  const perInterface = (field: "packets" | "bytes") => () =>
    s.counters().map((
      c,
    ): [Record<string, string>, number] => [
      { interface: c.ifname, direction: c.direction },
      c[field],
    ]);
  m.collector(
    "hypha_interface_packets_total",
    "Packets seen by the host datapath.",
    "counter",
    perInterface("packets"),
  );
  m.collector(
    "hypha_interface_bytes_total",
    "Bytes seen by the host datapath.",
    "counter",
    perInterface("bytes"),
  );
  m.collector(
    "hypha_interface_drops_total",
    "Packets the host datapath counted as drops, by reason.",
    "counter",
    () =>
      s.counters().flatMap((c) =>
        Object.entries(c.dropsByReason).map((
          [reason, n],
        ): [Record<string, string>, number] => [{
          interface: c.ifname,
          direction: c.direction,
          reason,
        }, n])
      ),
  );
  const perMap = (f: (r: MapRow) => number) => () =>
    s.maps().map((r): [Record<string, string>, number] => [{ map: r.name, owner: r.owner }, f(r)]);
  m.collector(
    "hypha_bpf_map_entries",
    "Entries in each BPF map.",
    "gauge",
    perMap((r) => r.entries),
  );
  m.collector(
    "hypha_bpf_map_capacity",
    "max_entries of each BPF map.",
    "gauge",
    perMap((r) => r.maxEntries),
  );
  m.collector(
    "hypha_bpf_map_fill_ratio",
    "entries / max_entries of each BPF map (alert before 1).",
    "gauge",
    perMap((r) => r.fillRatio),
  );
  m.collector(
    "hypha_plugin_up",
    "1 when the plugin is running.",
    "gauge",
    () =>
      s.plugins().map((
        p,
      ): [Record<string, string>, number] => [{ plugin: p.id }, p.state === "running" ? 1 : 0]),
  );
  m.collector(
    "hypha_kernel_feature_available",
    "1 when the kernel offers the datapath feature.",
    "gauge",
    () =>
      s.features.features.map((
        f,
      ): [Record<string, string>, number] => [{ feature: f.name }, f.available ? 1 : 0]),
  );
}
