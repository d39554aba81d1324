// Load balancer metrics, read at scrape time: services and frontends served, backends by state,
// problems. Map fill ratios come with every registered map (hypha_bpf_map_fill_ratio).
import type { Metrics } from "../../core/metrics/registry.ts";
import type { Balancer } from "./balancer.ts";

export function registerLbMetrics(m: Metrics, b: Balancer): () => void {
  const unregister = [
    m.collector(
      "hypha_lb_services",
      "Services this node balances (with at least one frontend).",
      "gauge",
      () => [[{}, new Set(b.frontends().map((f) => f.service)).size]],
    ),
    m.collector(
      "hypha_lb_frontends",
      "Service frontends (address, port, protocol) this node serves, by kind.",
      "gauge",
      () => {
        const by = new Map<string, number>();
        for (const f of b.frontends()) by.set(f.kind, (by.get(f.kind) ?? 0) + 1);
        return [...by].map(([kind, n]): [Record<string, string>, number] => [{ kind }, n]);
      },
    ),
    m.collector(
      "hypha_lb_backends",
      "Backends of the served frontends, by state (active, terminating, not_ready).",
      "gauge",
      () => {
        const by = new Map<string, Set<string>>();
        for (const f of b.frontends()) {
          for (const x of f.backends) {
            const state = x.active ? "active" : x.terminating ? "terminating" : "not_ready";
            const set = by.get(state) ?? new Set();
            set.add(`${x.ip}|${x.port}|${x.protocol}`);
            by.set(state, set);
          }
        }
        return ["active", "terminating", "not_ready"].map((
          state,
        ): [Record<string, string>, number] => [{ state }, by.get(state)?.size ?? 0]);
      },
    ),
    m.collector(
      "hypha_lb_problems",
      "Services, EndpointSlices and frontends the load balancer could not serve as asked.",
      "gauge",
      () => [[{}, b.status().problems.length]],
    ),
  ];
  return () => unregister.forEach((u) => u());
}
