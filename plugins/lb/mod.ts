// plugins/lb: kube-proxy replacement. Every Kubernetes Service type balanced by eBPF: at the
// socket for the node's processes and pods (bpf/bpf_sock.c), per packet where traffic arrives
// from outside (bpf/bpf_lb.c in core's hook slots), random or Maglev, with session affinity,
// traffic policies, source ranges, terminating backends and the health check node port.
// Services and EndpointSlices come from core's state tables (core/service, the cluster store).
import { definePlugin } from "../../core/plugin/mod.ts";
import { Balancer } from "./balancer.ts";
import { type LbConfig, lbConfigSchema } from "./config.ts";
import { registerLbMetrics } from "./metrics.ts";
import { lbRoutes } from "./routes.ts";

let running: Balancer | undefined;

export const lbPlugin = definePlugin<LbConfig>({
  id: "lb",
  description: "kube-proxy replacement: eBPF service load balancing (socket and per packet)",
  config: lbConfigSchema,
  start(ctx) {
    const b = Balancer.start(ctx);
    running = b;
    for (const map of b.datapath.ownedMaps()) {
      ctx.maps.register(ctx.id, map);
      ctx.onDispose(() => ctx.maps.unregister(ctx.id, map.name));
    }
    ctx.onDispose(registerLbMetrics(ctx.metrics, b));
    ctx.route("/", lbRoutes(b, ctx.state));
    ctx.reportHealth("degraded", "waiting for the cluster store's first sync");
  },
  async stop(reason) {
    const b = running;
    running = undefined;
    await b?.stop(reason);
  },
});

/** The running balancer of this process (tests and benchmarks wait on it). */
export function runningBalancer(): Balancer | undefined {
  return running;
}
