// Helpers of the load balancer's lab tests: applying services through a node's CLI, waiting
// until every node serves them, asking which backend answered (backends answer their pod name)
// and what source they saw.
import { join } from "node:path";
import type { Lab } from "../lab/lab.ts";
import { rrName } from "../lab/rr.ts";

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

export async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
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
    }
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}
