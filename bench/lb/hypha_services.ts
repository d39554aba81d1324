// The same services the kube-proxy baselines load (baseline_service.ts), for hypha: Kubernetes
// Service and EndpointSlice manifests (selector-less, explicit spec.clusterIP and nodePort, so
// nothing is allocated; one slice per service and target port), written into a local store's
// manifest directory as one JSON List, and the load balancer's status read over the agent's API
// socket to see when they are programmed. The manifest directory is the bulk path: the store
// re-reads the whole directory on a change (parse, validation, allocation), then the plugin
// computes and writes.
import type { BalancerStatus } from "../../plugins/lb/balancer.ts";
import { join } from "node:path";
import { ApiClient } from "../../core/api/client.ts";
import type { BaselineService } from "./baseline_service.ts";
import { portName } from "./baseline_service.ts";

/** Manifest file the benchmarks own in the directory (other files, e.g. Nodes, stay). */
export const SERVICES_FILE = "bench-services.json";

/** One Service and its EndpointSlice(s) per service, as Kubernetes manifests (objects). */
export function serviceDocuments(services: readonly BaselineService[]): unknown[] {
  const docs: unknown[] = [];
  for (const s of services) {
    const port = portName(s);
    const { name, namespace, protocol } = s;
    docs.push({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace },
      spec: {
        type: s.nodePort === undefined ? "ClusterIP" : "NodePort",
        clusterIP: s.clusterIP,
        ports: [{
          name: port,
          port: s.port,
          protocol,
          ...(s.nodePort === undefined ? {} : { nodePort: s.nodePort }),
        }],
      },
    });
    let n = 0;
    for (const [target, eps] of Map.groupBy(s.endpoints, (e) => e.port)) {
      docs.push({
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: {
          name: `${name}-${++n}`,
          namespace,
          labels: { "kubernetes.io/service-name": name },
        },
        addressType: "IPv4",
        ports: [{ name: port, port: target, protocol }],
        endpoints: eps.map((e) => ({ addresses: [e.ip], conditions: { ready: true } })),
      });
    }
  }
  return docs;
}

/** serviceDocuments() as a JSON `List` (the local store reads .json files with JSON.parse). */
export function serviceManifests(services: readonly BaselineService[]): string {
  return JSON.stringify({ apiVersion: "v1", kind: "List", items: serviceDocuments(services) });
}

/** The same documents as one YAML file (each in JSON, YAML's flow style). */
export function serviceManifestsYaml(services: readonly BaselineService[]): string {
  return serviceDocuments(services).map((d) => JSON.stringify(d)).join("\n---\n") + "\n";
}

/** The plugin's status as GET /v1/plugins/lb/status answers it. */
export type LbStatus = BalancerStatus;

export async function lbStatus(socket: string): Promise<LbStatus> {
  using client = new ApiClient({ socket });
  return await client.json<LbStatus>("GET", "/v1/plugins/lb/status");
}

/** The agent's resident set size in bytes (GET /v1/status node.memory.rss). */
export async function agentRss(socket: string): Promise<number> {
  using client = new ApiClient({ socket });
  const s = await client.json<{ node: { memory?: { rss: number } } }>("GET", "/v1/status");
  if (!s.node.memory) throw new Error(`Agent at ${socket}: /v1/status has no node.memory`);
  return s.node.memory.rss;
}

/**
 * Polls the load balancer until it serves `frontends` frontends (a number, or a test of the
 * status) with an apply that finished at or after `since` (epoch ms); returns that status.
 * Throws after `timeoutMs` with the last status.
 */
export async function waitProgrammed(
  socket: string,
  frontends: number | ((s: LbStatus) => boolean),
  opts: { since: number; timeoutMs?: number; pollMs?: number },
): Promise<LbStatus & { lastApply: NonNullable<LbStatus["lastApply"]> }> {
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  const done = typeof frontends === "number"
    ? (s: LbStatus) => s.frontends === frontends
    : frontends;
  let last: LbStatus | undefined;
  for (;;) {
    try {
      last = await lbStatus(socket);
      const apply = last.lastApply;
      if (apply && done(last) && Date.parse(apply.at) >= opts.since) {
        return { ...last, lastApply: apply };
      }
    } catch {
      // the agent is busy starting or reading manifests: ask again
    }
    if (Date.now() > deadline) {
      throw new Error(
        `The load balancer at ${socket} did not serve ${frontends} frontends within ` +
          `${opts.timeoutMs ?? 120_000} ms; last status: ${
            JSON.stringify({ ...last, problems: last?.problems.slice(0, 3) })
          }`,
      );
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 50));
  }
}

/**
 * Replaces the benchmark's services in manifest directory `dir` (one rename, so the store's
 * watcher sees the whole file) and returns the epoch ms just before the rename.
 */
export async function writeServices(
  dir: string,
  services: readonly BaselineService[],
): Promise<number> {
  const tmp = join(dir, `.${SERVICES_FILE}.tmp`);
  await Deno.writeTextFile(tmp, serviceManifests(services));
  const at = Date.now();
  await Deno.rename(tmp, join(dir, SERVICES_FILE));
  return at;
}
