// Routes hypha owns, tagged with its own routing protocol number so they can be listed and
// reconciled without touching anybody else's. Every field of a route is validated (validate.ts)
// before its line is built; one route the kernel refuses does not hold back the others.
import { ipBatch, ipJson, type IpOptions, NetlinkError } from "./exec.ts";
import * as check from "./validate.ts";
import { tryParseCidr } from "../ipam/cidr.ts";

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

function canonicalDst(dst: string, family?: "-4" | "-6"): string {
  if (dst === "default") return family === "-6" || dst.includes(":") ? "::/0" : "0.0.0.0/0";
  if (dst.includes("/")) return dst;
  return dst.includes(":") ? `${dst}/128` : `${dst}/32`;
}

/** hypha's routes in this namespace, both families. */
export async function listHyphaRoutes(opts: IpOptions = {}): Promise<Route[]> {
  const out: Route[] = [];
  for (const family of ["-4", "-6"] as const) {
    const rows = await ipJson<IpRoute>(
      [family, "route", "show", "proto", `${HYPHA_ROUTE_PROTO}`],
      opts,
    );
    for (const r of rows) {
      const mtu = r.metrics?.find((m) => m.mtu !== undefined)?.mtu;
      out.push({
        dst: canonicalDst(r.dst, family),
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

/** The route with every field checked and in canonical text; throws NetlinkError naming the field. */
export function validRoute(r: Route): Route {
  const dst = check.cidr(r.dst, "route.dst");
  if (r.scope !== undefined && r.scope !== "link") {
    throw new NetlinkError(
      `Invalid route scope ${JSON.stringify(r.scope)} for route.scope: must be "link"`,
    );
  }
  return {
    dst: dst.text,
    dev: check.ifname(r.dev, "route.dev"),
    ...(r.via ? { via: check.address(r.via, "route.via", dst.family) } : {}),
    ...(r.mtu ? { mtu: check.mtu(r.mtu, "route.mtu") } : {}),
    ...(r.scope ? { scope: r.scope } : {}),
  };
}

/** The `ip -batch` line of a route; throws NetlinkError naming the field of a bad value. */
export function routeLine(verb: "replace" | "del", route: Route): string {
  const r = validRoute(route);
  const parts = [`route ${verb} ${r.dst}`];
  if (r.via) parts.push(`via ${r.via}`);
  parts.push(`dev ${r.dev}`, `proto ${HYPHA_ROUTE_PROTO}`);
  if (verb === "replace" && r.scope) parts.push(`scope ${r.scope}`);
  if (verb === "replace" && r.mtu) parts.push(`mtu ${r.mtu}`);
  return parts.join(" ");
}

/** The 1-based number of the line an `ip -batch` run failed at ("Command failed -:3"). */
function failedLine(err: NetlinkError): number | undefined {
  const m = /(?:-:|line )(\d+)/.exec(err.stderr);
  return m ? Number(m[1]) : undefined;
}

/**
 * Applies `lines` in order; a line the kernel refuses is skipped and the rest still applied
 * (ip -batch stops at the first failure, so the run continues after it). Returns the failures.
 */
async function applyLines(lines: string[], opts: IpOptions): Promise<string[]> {
  const failures: string[] = [];
  let rest = lines;
  while (rest.length) {
    try {
      await ipBatch(rest, opts);
      break;
    } catch (err) {
      const n = err instanceof NetlinkError ? failedLine(err) : undefined;
      if (n === undefined || n < 1 || n > rest.length) throw err;
      failures.push(`"${rest[n - 1]}": ${(err as NetlinkError).stderr.split("\n")[0]}`);
      rest = rest.slice(n);
    }
  }
  return failures;
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
 * A desired route with an invalid field, or one the kernel refuses, is left out while every other
 * change is made; then a NetlinkError lists them (the caller retries later).
 */
export async function reconcileRoutes(
  desired: Route[],
  opts: IpOptions & { keep?: (r: Route) => boolean } = {},
): Promise<RouteReconcile> {
  const actual = new Map((await listHyphaRoutes(opts)).map((r) => [routeKey(r), r]));
  const result: RouteReconcile = { added: 0, updated: 0, removed: 0, unchanged: 0 };
  const lines: string[] = [];
  const problems: string[] = [];
  const wanted = new Set<string>();
  for (const d of desired) {
    let r: Route;
    try {
      r = validRoute(d);
    } catch (err) {
      problems.push((err as Error).message);
      // what the kernel has for that destination stays until the route is valid again
      const dst = tryParseCidr(String(d.dst), { strict: true });
      if (dst) wanted.add(dst.toString());
      continue;
    }
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
    try {
      lines.push(routeLine("del", r));
      result.removed++;
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  problems.push(...await applyLines(lines, opts));
  if (problems.length) {
    throw new NetlinkError(
      `${problems.length} route change(s) not made (the others were): ${problems.join("; ")}`,
    );
  }
  return result;
}
