// Pod networking metrics, collected at scrape time: endpoints and nodes known, IPAM use per pod
// CIDR (so an alert can fire before a node runs out of pod addresses), the cluster store's
// connection, records the store and the manifest directory hold that were rejected, CNI
// requests by command and outcome, and endpoint regenerations.
import type { Metrics } from "../metrics/registry.ts";
import { type ReadonlyTable, RECORD_KINDS, type RejectedRecord } from "../state/mod.ts";
import type { Networking } from "./networking.ts";
import type { Regeneration } from "./policy_enforcer.ts";

/** Seconds: a regeneration takes well under a millisecond to whole seconds at large scale. */
const REGENERATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];

/** Counts endpoint regenerations and their duration; returns the policy enforcer's hook. */
export function regenerationMetrics(m: Metrics): (r: Regeneration) => void {
  const total = m.counter(
    "hypha_endpoint_regenerations_total",
    "Endpoint policy regenerations, by trigger (created, policy) and outcome (changed: the " +
      "kernel's policy was rewritten; unchanged: computed, nothing to write).",
  );
  const duration = m.histogram(
    "hypha_endpoint_regeneration_duration_seconds",
    "Time to compute and write one endpoint's policy, by trigger.",
    REGENERATION_BUCKETS,
  );
  return (r) => {
    total.inc({ trigger: r.trigger, outcome: r.changed ? "changed" : "unchanged" });
    duration.observe({ trigger: r.trigger }, r.seconds);
  };
}

export function registerNetworkMetrics(m: Metrics, net: Networking, node: string): void {
  m.collector(
    "hypha_endpoints",
    "Endpoints known to this node, by the node that hosts them.",
    "gauge",
    () => {
      const by = new Map<string, number>();
      for (const e of net.endpointRows()) by.set(e.node, (by.get(e.node) ?? 0) + 1);
      return [...by].map(([n, count]): [Record<string, string>, number] => [{ node: n }, count]);
    },
  );
  m.collector("hypha_nodes", "Nodes of the cluster this node knows.", "gauge", () => [[
    {},
    net.nodes().length,
  ]]);
  m.collector(
    "hypha_ipam_addresses_used",
    "Pod addresses in use, by pod CIDR.",
    "gauge",
    () => net.view().ipam.map((i): [Record<string, string>, number] => [{ cidr: i.cidr }, i.used]),
  );
  m.collector(
    "hypha_ipam_addresses_available",
    "Pod addresses still free, by pod CIDR.",
    "gauge",
    () =>
      net.view().ipam.map((i): [Record<string, string>, number] => [{ cidr: i.cidr }, i.available]),
  );
  m.collector(
    "hypha_cluster_store_connected",
    "1 when the cluster store answered the last request, 0 while it is unreachable.",
    "gauge",
    () => {
      const s = net.view().store;
      return [[{ store: s.kind, node }, s.connected ? 1 : 0]];
    },
  );
  m.collector(
    "hypha_cni_requests_total",
    "CNI requests handled by the agent, by command and CNI error code (0 = success).",
    "counter",
    () =>
      [...net.cni.requests].map(([key, n]): [Record<string, string>, number] => {
        const [command, code] = key.split("/");
        return [{ command: command!, code: code! }, n];
      }),
  );
}

export function registerRejectedMetrics(m: Metrics, rejected: ReadonlyTable<RejectedRecord>): void {
  m.collector(
    "hypha_store_rejected_records",
    "Records of the cluster store or the manifest directory that were rejected (not used), by " +
      "kind; each is listed with its problems by `hypha status`.",
    "gauge",
    () => {
      // every kind, so one without rejected records reads 0 (an alert can watch for > 0)
      const by = new Map<string, number>(RECORD_KINDS.map((k) => [k, 0]));
      for (const r of rejected.list()) by.set(r.kind, (by.get(r.kind) ?? 0) + 1);
      return [...by].map(([kind, n]): [Record<string, string>, number] => [{ kind }, n]);
    },
  );
}
