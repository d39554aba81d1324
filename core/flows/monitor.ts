// What the datapath reports (bpf/lib/trace.h), from the `observability` config: the fields of
// the node config map that set the monitor level, the report interval and the drop budget.
import type { NodeConfig } from "../bpf/generated/host.ts";
import { MONITOR_LEVEL } from "../bpf/generated/host.ts";
import type { HyphaConfig } from "../config/schema.ts";

export function datapathMonitor(
  o: HyphaConfig["observability"],
): Pick<NodeConfig, "monitor_level" | "monitor_interval" | "drop_events"> {
  if (!o.enabled) return { monitor_level: MONITOR_LEVEL.OFF, monitor_interval: 0, drop_events: 0 };
  const level = o.monitor.level.toUpperCase() as keyof typeof MONITOR_LEVEL;
  return {
    monitor_level: MONITOR_LEVEL[level],
    monitor_interval: o.monitor.interval,
    drop_events: o.dropEventsPerSecond,
  };
}
