// The load balancer's API, mounted under /v1/plugins/lb: services with their frontends and
// backends (what `hypha service list|get` shows), the raw maps (`hypha bpf lb list`) and the
// balancer's status and problems.
import { Hono } from "hono";
import { NotFoundError } from "../../core/api/errors.ts";
import type { Balancer } from "./balancer.ts";
import type { Frontend } from "./frontends.ts";
import { frontendKeyText, netPort } from "./writer.ts";
import { LB_BE_F, LB_FE } from "./generated/lb.ts";
import { wordsToIp } from "../../core/datapath/addr.ts";
import type { IpFamily } from "../../core/ipam/mod.ts";
import type { StateView } from "../../core/state/mod.ts";

function flagNames(flags: number, names: Record<string, number>): string[] {
  return Object.entries(names).filter(([, bit]) => flags & bit).map(([n]) => n.toLowerCase());
}

function frontendView(b: Balancer, f: Frontend) {
  return {
    frontend: f.key,
    id: b.frontendId(f.key) ?? null,
    kind: f.kind,
    port: f.portName,
    external: f.external,
    socket: f.socket,
    trafficPolicy: f.trafficPolicy,
    algorithm: f.algorithm,
    ...(f.affinityTimeoutSeconds !== undefined
      ? { affinity: { clientIP: { timeoutSeconds: f.affinityTimeoutSeconds } } }
      : {}),
    ...(f.sourceRanges.length ? { sourceRanges: f.sourceRanges } : {}),
    onEmpty: f.backends.some((x) => x.active) ? null : f.dropWhenEmpty ? "drop" : "reject",
    backends: f.backends.map((x) => ({
      address: x.family === 6 ? `[${x.ip}]:${x.port}` : `${x.ip}:${x.port}`,
      id: b.backendId(x.ip, x.port, x.protocol) ?? null,
      state: x.active
        ? (x.terminating ? "terminating (serving)" : "active")
        : x.terminating
        ? "terminating"
        : x.ready
        ? "standby"
        : "not ready",
      local: x.local,
      ...(x.node ? { node: x.node } : {}),
      ...(x.pod ? { pod: x.pod } : {}),
    })),
  };
}

function services(b: Balancer, state: StateView) {
  const bySvc = new Map<string, Frontend[]>();
  for (const f of b.frontends()) bySvc.set(f.service, [...(bySvc.get(f.service) ?? []), f]);
  const out = state.services.list().map((r) => {
    const s = r.service;
    const key = `${s.namespace}/${s.name}`;
    return {
      service: key,
      type: s.headless ? "ClusterIP (headless)" : s.type,
      frontends: (bySvc.get(key) ?? []).map((f) => frontendView(b, f)),
    };
  });
  // HostPorts are pods' frontends
  for (const [key, fs] of bySvc) {
    if (fs[0]?.kind === "HostPort") {
      out.push({ service: key, type: "HostPort", frontends: fs.map((f) => frontendView(b, f)) });
    }
  }
  return out.sort((x, y) => x.service.localeCompare(y.service));
}

/** The Services and EndpointSlices a source rejected (the state's rejected records of all kinds). */
function rejectedServices(state: StateView) {
  return state.rejected.list().filter((r) => r.kind === "Service" || r.kind === "EndpointSlice");
}

export function lbRoutes(b: Balancer, state: StateView): Hono {
  return new Hono()
    .get("/services", (c) =>
      c.json({
        services: services(b, state),
        problems: b.status().problems,
        rejected: rejectedServices(state),
      }))
    .get("/services/:namespace/:name", (c) => {
      const key = `${c.req.param("namespace")}/${c.req.param("name")}`;
      const found = services(b, state).find((s) => s.service === key);
      if (!found) {
        const rejected = rejectedServices(state).filter((r) => `${r.namespace}/${r.name}` === key);
        if (rejected.length) return c.json({ service: key, rejected }, 200);
        throw new NotFoundError(`No service "${key}" (see hypha service list)`);
      }
      return c.json({
        ...found,
        problems: b.status().problems.filter((p) => p.object.endsWith(` ${key}`)),
      });
    })
    .get("/status", (c) => c.json(b.status()))
    .get("/maps", (c) => {
      const m = b.datapath.maps;
      const limit = Math.min(Number(c.req.query("limit") ?? 1000) || 1000, 100_000);
      const take = <T>(it: Iterable<T>) => {
        const out: T[] = [];
        for (const x of it) {
          if (out.length >= limit) break;
          out.push(x);
        }
        return out;
      };
      const addr = (words: number[], family: number) =>
        wordsToIp(words, family as IpFamily).toString();
      return c.json({
        config: m.config.lookup(0) ?? null,
        frontends: take(m.frontends.entries()).map(([k, v]) => ({
          frontend: frontendKeyText(k),
          id: v.id,
          count: v.count,
          flags: flagNames(v.flags, LB_FE),
          affinityTimeout: v.affinity_timeout,
        })),
        slots: take(m.slots.entries()).map(([k, v]) => ({
          frontend: k.frontend,
          slot: k.slot,
          backend: v,
        })).sort((x, y) => x.frontend - y.frontend || x.slot - y.slot),
        backends: take(m.backends.entries()).map(([k, v]) => ({
          id: k,
          address: `${addr(v.addr, v.family)}:${netPort(v.port)}`,
          proto: v.proto,
          flags: flagNames(v.flags, LB_BE_F),
        })).sort((x, y) => x.id - y.id),
        maglev: take(m.maglev.entries()).map(([frontend, mapId]) => ({ frontend, mapId })),
        conntrack: m.ct.count(),
        reverse: m.rev.count(),
        affinity: m.affinity.count(),
      });
    });
}
