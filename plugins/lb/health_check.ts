// kube-proxy's service health check: for a LoadBalancer (or NodePort) service with
// externalTrafficPolicy Local, every node answers HTTP on the service's healthCheckNodePort
// with 200 and the number of local endpoints when it has some, 503 when it has none, so an
// external load balancer sends traffic only to nodes that can serve it locally. The body is
// kube-proxy's: {"service":{"namespace":..,"name":..},"localEndpoints":N,"serviceProxyHealthy":true}.
import type { Logger } from "../../core/plugin/mod.ts";

export interface HealthCheck {
  port: number;
  /** `<namespace>/<name>` */
  service: string;
  localEndpoints: number;
}

interface Server {
  check: HealthCheck;
  server?: Deno.HttpServer;
  error?: string;
}

export class HealthChecks {
  readonly #servers = new Map<number, Server>();
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Serves exactly `checks`: new ports open, gone ones close, counts update in place. */
  async reconcile(checks: HealthCheck[]): Promise<void> {
    const wanted = new Map(checks.map((c) => [c.port, c]));
    for (const [port, s] of this.#servers) {
      if (wanted.get(port)?.service === s.check.service) continue;
      await s.server?.shutdown();
      this.#servers.delete(port);
    }
    for (const check of checks) {
      const existing = this.#servers.get(check.port);
      if (existing) {
        existing.check = check; // the handler reads the current count
        continue;
      }
      const entry: Server = { check };
      try {
        entry.server = Deno.serve({
          port: check.port,
          hostname: "0.0.0.0",
          onListen: () => {},
        }, () => this.#answer(entry.check));
      } catch (err) {
        entry.error = (err as Error).message;
        this.#log.warn("health check port unavailable", {
          port: check.port,
          service: check.service,
          error: entry.error,
        });
      }
      this.#servers.set(check.port, entry);
    }
  }

  #answer(check: HealthCheck): Response {
    const [namespace, name] = check.service.split("/");
    return new Response(
      JSON.stringify({
        service: { namespace, name },
        localEndpoints: check.localEndpoints,
        serviceProxyHealthy: true,
      }),
      {
        status: check.localEndpoints > 0 ? 200 : 503,
        headers: { "content-type": "application/json", "x-content-type-options": "nosniff" },
      },
    );
  }

  list(): Array<HealthCheck & { error?: string }> {
    return [...this.#servers.values()].map((s) => ({
      ...s.check,
      ...(s.error ? { error: s.error } : {}),
    }));
  }

  async close(): Promise<void> {
    for (const s of this.#servers.values()) await s.server?.shutdown();
    this.#servers.clear();
  }
}
