// What parsing and allocation need from the node's config (the `services` section): the cluster
// IP ranges, one per family, and the node port range. Kept apart from core/config so the pure
// service modules take plain values and tests need no config.
import { type Cidr, parseCidr } from "../ipam/cidr.ts";

/** Inclusive node port range, e.g. 30000-32767. */
export interface NodePortRange {
  min: number;
  max: number;
}

export interface ServiceOptions {
  /**
   * Cluster IP ranges, at most one per family. The first is the primary family: a SingleStack
   * service that names no family gets an address of it.
   */
  clusterIPRanges: Cidr[];
  nodePortRange: NodePortRange;
}

/** The config section's shape (core/config/schema.ts `services`). */
export interface ServicesConfig {
  clusterIPRange: string;
  clusterIPRangeV6: string;
  nodePortRange: string;
}

export const DEFAULT_NODE_PORT_RANGE = "30000-32767";
export const DEFAULT_CLUSTER_IP_RANGE = "10.96.0.0/12";

/** "MIN-MAX" as a range, or why it is not one. */
export function parsePortRange(text: string): NodePortRange | string {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(text);
  if (!m) return `must be MIN-MAX, e.g. "${DEFAULT_NODE_PORT_RANGE}"`;
  const [min, max] = [Number(m[1]), Number(m[2])];
  if (min < 1 || max > 65535) return "ports must be 1-65535";
  if (min > max) return `the first port (${min}) must not be above the last (${max})`;
  return { min, max };
}

/** The options of a (validated) config section; IPv4 first when both ranges are set. */
export function serviceOptions(c: ServicesConfig): ServiceOptions {
  const range = parsePortRange(c.nodePortRange);
  if (typeof range === "string") {
    throw new Error(`services.nodePortRange "${c.nodePortRange}": ${range}`);
  }
  return {
    clusterIPRanges: [c.clusterIPRange, c.clusterIPRangeV6].filter((r) => r !== "")
      .map((r) => parseCidr(r)),
    nodePortRange: range,
  };
}

/** The schema defaults: what `hypha service validate` checks against without a config. */
export const DEFAULT_SERVICE_OPTIONS: ServiceOptions = serviceOptions({
  clusterIPRange: DEFAULT_CLUSTER_IP_RANGE,
  clusterIPRangeV6: "",
  nodePortRange: DEFAULT_NODE_PORT_RANGE,
});
