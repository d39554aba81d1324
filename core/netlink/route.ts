// Routes hypha owns, tagged with its own routing protocol number so they can be listed and
// reconciled without touching anybody else's.
import { ipBatch, ipJson, type IpOptions } from "./exec.ts";

/** rtnetlink protocol id of hypha's routes (`ip route show proto 77`; unassigned in iproute2's rt_protos). */
export const HYPHA_ROUTE_PROTO = 77;

export interface Route {
  /** Destination prefix, e.g. 10.244.2.0/24 or fd00::/64 (a host route as /32 or /128). */
  dst: string;
  dev: string;
  via?: string;
  mtu?: number;
  /** "link" for on-link routes without a gateway. */
  scope?: "link";
}

interface IpRoute {
  dst: string;
  dev: string;
  gateway?: string;
  metrics?: Array<{ mtu?: number }>;
  scope?: string;
}

function canonicalDst(dst: string): string {
  if (dst.includes("/")) return dst;
  return dst.includes(":") ? `${dst}/128` : `${dst}/32`;
}

/** hypha's routes in this namespace, both families. */
export async function listHyphaRoutes(opts: IpOptions = {}): Promise<Route[]> {
  const out: Route[] = [];
  for (const family of ["-4", "-6"]) {
    const rows = await ipJson<IpRoute>(
      [family, "route", "show", "proto", `${HYPHA_ROUTE_PROTO}`],
      opts,
    );
    for (const r of rows) {
      const mtu = r.metrics?.find((m) => m.mtu !== undefined)?.mtu;
      out.push({
        dst: canonicalDst(r.dst),
        dev: r.dev,
        ...(r.gateway ? { via: r.gateway } : {}),
        ...(mtu ? { mtu } : {}),
        ...(r.scope === "link" && !r.gateway ? { scope: "link" as const } : {}),
      });
    }
  }
  return out;
}

export function routeKey(r: Route): string {
  return canonicalDst(r.dst);
}

function routeLine(verb: "replace" | "del", r: Route): string {
  const parts = [`route ${verb} ${r.dst}`];
  if (r.via) parts.push(`via ${r.via}`);
  parts.push(`dev ${r.dev}`, `proto ${HYPHA_ROUTE_PROTO}`);
  if (verb === "replace" && r.scope) parts.push(`scope ${r.scope}`);
  if (verb === "replace" && r.mtu) parts.push(`mtu ${r.mtu}`);
  return parts.join(" ");
}

const same = (a: Route, b: Route) =>
  a.dev === b.dev && (a.via ?? "") === (b.via ?? "") && (a.mtu ?? 0) === (b.mtu ?? 0);

export interface RouteReconcile {
  added: number;
  updated: number;
  removed: number;
  unchanged: number;
}

/**
 * Makes hypha's routes equal `desired` (keyed by destination): replaces what differs, deletes
 * hypha routes that are no longer wanted, and leaves the rest alone (zero changes when equal).
 * `keep` limits deletion to destinations it accepts (e.g. not the endpoint host routes).
 */
export async function reconcileRoutes(
  desired: Route[],
  opts: IpOptions & { keep?: (r: Route) => boolean } = {},
): Promise<RouteReconcile> {
  const actual = new Map((await listHyphaRoutes(opts)).map((r) => [routeKey(r), r]));
  const result: RouteReconcile = { added: 0, updated: 0, removed: 0, unchanged: 0 };
  const lines: string[] = [];
  const wanted = new Set<string>();
  for (const r of desired) {
    const key = routeKey(r);
    wanted.add(key);
    const cur = actual.get(key);
    if (cur && same(cur, r)) {
      result.unchanged++;
      continue;
    }
    lines.push(routeLine("replace", r));
    cur ? result.updated++ : result.added++;
  }
  for (const [key, r] of actual) {
    if (wanted.has(key) || opts.keep?.(r)) continue;
    lines.push(routeLine("del", r));
    result.removed++;
  }
  await ipBatch(lines, opts);
  return result;
}
