// Waiting until a lab's agents agree on the cluster and have programmed it. What an agent learns
// from the store reaches its kernel later: the node list first, the routes to a new node's pod
// CIDRs 50 ms after (a debounced reconcile), so a check of traffic or routes right after the node
// list changed is a race. These waits poll what the tests then check.
import { ApiClient } from "../../core/api/client.ts";
import type { EndpointRow, NodeRow } from "../../core/api/backend.ts";
import type { Lab } from "./lab.ts";
import { waitFor } from "./wait.ts";

/** `GET path` on a node's API. */
export async function nodeApi<T>(lab: Lab, node: string, path: string): Promise<T> {
  using client = new ApiClient({ socket: lab.node(node).socket });
  return await client.json<T>("GET", path);
}

/** The destinations of a node's hypha routes (`ip route show proto 77`), IPv4 and IPv6. */
export async function hyphaRoutes(lab: Lab, node: string): Promise<string[]> {
  const dsts: string[] = [];
  for (const family of ["-4", "-6"]) {
    const out = (await lab.exec(node, ["ip", family, "-j", "route", "show", "proto", "77"])).stdout;
    for (const r of out.trim() ? JSON.parse(out) as Array<{ dst: string }> : []) dsts.push(r.dst);
  }
  return dsts;
}

/**
 * Every node in `nodes` (default: those whose agent runs) knows exactly those nodes with their
 * pod CIDRs, has every pod of the lab on them as an endpoint, and routes to every other node's
 * pod CIDRs. Throws after `timeoutMs` naming what was missing.
 */
export async function waitConverged(
  lab: Lab,
  opts: { nodes?: string[]; timeoutMs?: number } = {},
): Promise<void> {
  const nodes = opts.nodes ??
    [...lab.nodes.values()].filter((n) => n.agent.running).map((n) => n.name);
  const pods = [...lab.pods.byKey.values()].filter((p) => nodes.includes(p.node))
    .map((p) => p.key).sort();
  let missing = "";
  const converged = async (node: string): Promise<boolean> => {
    const known = (await nodeApi<{ nodes: NodeRow[] }>(lab, node, "/v1/nodes")).nodes;
    const names = known.map((n) => n.name).sort();
    if (JSON.stringify(names) !== JSON.stringify([...nodes].sort())) {
      missing = `${node} knows nodes ${names.join(",")}`;
      return false;
    }
    if (known.some((n) => n.podCIDRs.length === 0)) {
      missing = `${node} knows a node without pod CIDRs`;
      return false;
    }
    const eps = (await nodeApi<{ endpoints: EndpointRow[] }>(lab, node, "/v1/endpoints"))
      .endpoints.filter((e) => nodes.includes(e.node)).map((e) => `${e.namespace}/${e.pod}`)
      .sort();
    if (JSON.stringify(eps) !== JSON.stringify(pods)) {
      missing = `${node} has endpoints ${eps.join(",")}, not ${pods.join(",")}`;
      return false;
    }
    const routes = await hyphaRoutes(lab, node);
    const want = known.filter((n) => n.name !== node).flatMap((n) => n.podCIDRs);
    const absent = want.filter((c) => !routes.includes(c));
    if (absent.length) {
      missing = `${node} has no route to ${absent.join(", ")}`;
      return false;
    }
    return true;
  };
  try {
    await waitFor("the agents agree on the cluster and route it", async () => {
      for (const n of nodes) if (!(await converged(n))) return false;
      return true;
    }, opts.timeoutMs ?? 30_000);
  } catch (err) {
    throw new Error(`${(err as Error).message} (last: ${missing})`);
  }
}

interface PolicyState {
  revision: number;
  storeRevision: number;
  pending: boolean;
}

/**
 * Applies (or with `del`, deletes) policy manifests through `node`'s API and returns the store
 * revision of the change, for waitPolicyApplied().
 */
export async function applyPolicy(
  lab: Lab,
  manifests: string,
  opts: { node?: string; del?: boolean } = {},
): Promise<number> {
  using client = new ApiClient({ socket: lab.node(opts.node ?? "n1").socket });
  const path = opts.del ? "/v1/policies/delete" : "/v1/policies";
  return (await client.json<{ revision: number }>("POST", path, manifests)).revision;
}

/**
 * Every node in `nodes` (default: those whose agent runs) has computed the policies of store
 * revision `revision` or later, written them to its maps, and has nothing pending. Also right
 * after an agent restart: its computed revision starts at 0.
 */
export async function waitPolicyApplied(
  lab: Lab,
  revision: number,
  opts: { nodes?: string[]; timeoutMs?: number } = {},
): Promise<void> {
  const nodes = opts.nodes ??
    [...lab.nodes.values()].filter((n) => n.agent.running).map((n) => n.name);
  await waitFor(`every node enforces the policies of store revision ${revision}`, async () => {
    for (const n of nodes) {
      const p = await nodeApi<PolicyState>(lab, n, "/v1/policies");
      if (p.pending || p.revision < revision) return false;
    }
    return true;
  }, opts.timeoutMs ?? 30_000);
}
