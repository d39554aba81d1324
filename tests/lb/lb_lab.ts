// Helpers of the load balancer's lab tests: applying services through a node's CLI, waiting
// until every node serves them, asking which backend answered (backends answer their pod name)
// and what source they saw.
import { join } from "node:path";
import { mergeValues } from "../../core/config/layers.ts";
import { waitFor } from "../lab/wait.ts";
export { waitFor };
import { Lab, type LabOptions } from "../lab/lab.ts";
import type { LabPod } from "../lab/pods.ts";
import { rrName, rrServe, type RrServer } from "../lab/rr.ts";
import { nodeApi, waitConverged } from "../lab/converge.ts";

/** Writes `yaml` into the lab and applies it through node `node`'s CLI. */
export async function applyServices(lab: Lab, yaml: string, node = "n1"): Promise<string> {
  const path = join(lab.dir, `svc-${crypto.randomUUID().slice(0, 8)}.yaml`);
  await Deno.writeTextFile(path, yaml);
  return (await lab.hypha(node, ["service", "apply", path])).stdout;
}

export async function deleteServices(lab: Lab, yaml: string, node = "n1"): Promise<void> {
  const path = join(lab.dir, `del-${crypto.randomUUID().slice(0, 8)}.yaml`);
  await Deno.writeTextFile(path, yaml);
  await lab.hypha(node, ["service", "delete", path]);
}

export interface FrontendJson {
  frontend: string;
  kind: string;
  backends: Array<{ address: string; state: string; local: boolean; pod?: string }>;
}

/** `hypha service get NS/NAME -o json` on a node. */
export async function serviceOn(lab: Lab, node: string, key: string) {
  const r = await lab.hypha(node, ["service", "get", key, "-o", "json"], { allowFail: true });
  if (r.code !== 0) return undefined;
  return JSON.parse(r.stdout) as { service: string; type: string; frontends: FrontendJson[] };
}

/** Waits until every node serves `key` with `active` active backends on each frontend. */
export async function waitServed(lab: Lab, key: string, active: number, nodes = ["n1", "n2"]) {
  await waitFor(`every node serves ${key} with ${active} active backends`, async () => {
    for (const n of nodes) {
      const s = await serviceOn(lab, n, key);
      if (!s || !s.frontends.length) return false;
      for (const f of s.frontends) {
        if (f.backends.filter((b) => b.state.startsWith("active")).length !== active) {
          return false;
        }
      }
    }
    return true;
  });
}

/**
 * Every node with a running agent runs the load balancer again (health ok): after a restart,
 * the agent is ready before its plugins have started.
 */
export async function waitLbRunning(lab: Lab): Promise<void> {
  const nodes = [...lab.nodes.values()].filter((n) => n.agent.running).map((n) => n.name);
  await waitFor("every node runs the load balancer", async () => {
    for (const n of nodes) {
      const st = await nodeApi<{ plugins: Array<{ id: string; health: string }> }>(
        lab,
        n,
        "/v1/status",
      );
      if (st.plugins.find((p) => p.id === "lb")?.health !== "ok") return false;
    }
    return true;
  });
}

/** The cluster IP (first frontend of kind ClusterIP) and node port of a service. */
export async function addresses(lab: Lab, key: string, node = "n1") {
  const s = (await serviceOn(lab, node, key))!;
  const port = (kind: string) => {
    const f = s.frontends.find((f) => f.kind === kind);
    return f ? Number(/:(\d+)\/\w+$/.exec(f.frontend)![1]) : undefined;
  };
  const ip = (kind: string) => {
    const f = s.frontends.find((f) => f.kind === kind);
    return f ? f.frontend.replace(/^\[?([^\]]+?)\]?:\d+\/\w+$/, "$1") : undefined;
  };
  return {
    clusterIP: ip("ClusterIP"),
    nodePort: port("NodePort"),
    frontends: s.frontends,
  };
}

/** The last failed answers' messages (rr's own words: "timeout: connected, but no response..."
 * or "timeout: Connection timed out"), for failureEvidence(). */
const recentFailures: string[] = [];

/**
 * Who answers `n` connections to host:port from `ns`: backend name -> count, and failures by
 * kind under "!<kind>".
 */
export async function answers(
  ns: string,
  host: string,
  port: number,
  n: number,
  opts: { udp?: boolean; bind?: string; localPort?: number; timeoutMs?: number } = {},
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    let key: string;
    try {
      key = await rrName(ns, host, port, { timeoutMs: opts.timeoutMs ?? 1500, ...opts });
    } catch (err) {
      const m = /: (\w+): /.exec(String(err));
      key = `!${m?.[1] ?? "error"}`;
      recentFailures.push(`${new Date().toISOString()} ${String(err)}`);
      recentFailures.splice(0, recentFailures.length - 20);
    }
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

/**
 * What the nodes saw around a failed answer (`!timeout` and the like), for the assertion that
 * follows: each node's flows of the last seconds (drops included) and its drop counters. A
 * failure then carries the datapath's side of the story instead of only a count.
 */
export async function failureEvidence(
  lab: Lab,
  result: Record<string, number>,
  since = "20s",
): Promise<string> {
  if (!Object.keys(result).some((k) => k.startsWith("!"))) return "";
  const parts: string[] = [`answers: ${JSON.stringify(result)}`, ...recentFailures];
  for (const n of lab.nodes.keys()) {
    for (const args of [["observe", "--since", since, "--last", "200"], ["counters"]]) {
      const r = await lab.hypha(n, args, { allowFail: true });
      parts.push(`--- ${n}: hypha ${args.join(" ")}\n${r.stdout}${r.stderr}`);
    }
  }
  return parts.join("\n");
}

export const BACKEND_PORT = 8080;

export interface WebLab extends AsyncDisposable {
  lab: Lab;
  /** x/a on n1 and x/b on n2 (labels app=web), answering their name on BACKEND_PORT. */
  a: LabPod;
  b: LabPod;
}

/**
 * The usual scene: a 2-node lab with etcd and the load balancer on (plus `options`), agents
 * running, two web backends serving rr (TCP and UDP) on BACKEND_PORT, and `service` applied and
 * served by both nodes with both backends. Disposing stops the servers and destroys the lab.
 */
export async function webLab(
  service: string,
  options: Omit<LabOptions, "nodes" | "etcd"> & {
    lb?: Record<string, unknown>;
    /** The service to wait for (default x/web). */
    serviceKey?: string;
  } = {},
): Promise<WebLab> {
  const { lb, serviceKey = "x/web", ...labOptions } = options;
  const lab = await Lab.create({
    nodes: 2,
    etcd: 1,
    ...labOptions,
    nodeConfig: mergeValues(labOptions.nodeConfig ?? {}, {
      plugins: { lb: { enabled: true, ...lb } },
    }) as Record<string, unknown>,
  });
  const servers: RrServer[] = [];
  try {
    await lab.startAgents();
    const a = await lab.addPod("n1", "x/a", { labels: { app: "web" } });
    const b = await lab.addPod("n2", "x/b", { labels: { app: "web" } });
    for (const p of [a, b]) {
      servers.push(await rrServe(p.ns, { port: BACKEND_PORT, name: p.key, udp: true }));
    }
    await waitConverged(lab); // each node routes to the other's backend
    await applyServices(lab, service);
    await waitServed(lab, serviceKey, 2);
    return {
      lab,
      a,
      b,
      async [Symbol.asyncDispose]() {
        await Promise.all(servers.map((s) => s.stop()));
        await lab.destroy();
      },
    };
  } catch (err) {
    await Promise.all(servers.map((s) => s.stop()));
    await lab.destroy();
    throw err;
  }
}
