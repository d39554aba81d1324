// Claims: the values only one service may hold cluster-wide — a cluster IP, or a node port of a
// protocol (a health check node port is a TCP node port). The allocator avoids what others
// claim; stores take claims atomically with the service (etcd: a key per claim created with
// compare-and-swap) so two nodes applying at once never hand out one value twice.
import { tryParseIp } from "../ipam/ip.ts";
import { objectKey, type Service, SERVICE_PROTOCOLS, type ServiceProtocol } from "./model.ts";

export type ServiceClaim =
  | { kind: "clusterIP"; ip: string }
  | { kind: "nodePort"; protocol: ServiceProtocol; port: number };

/** Who holds what: claimId() -> the owning service's key (`<namespace>/<name>`). */
export type ServiceUsage = ReadonlyMap<string, string>;

/** `clusterIP/10.96.0.10`, `nodePort/TCP/30080`. */
export function claimId(c: ServiceClaim): string {
  return c.kind === "clusterIP" ? `clusterIP/${c.ip}` : `nodePort/${c.protocol}/${c.port}`;
}

/** For messages: `cluster IP "10.96.0.10"`, `node port 30080/TCP`. */
export function describeClaim(c: ServiceClaim): string {
  return c.kind === "clusterIP" ? `cluster IP "${c.ip}"` : `node port ${c.port}/${c.protocol}`;
}

/** What a parsed service holds. */
export function serviceClaims(
  s: Pick<Service, "clusterIPs" | "ports" | "healthCheckNodePort">,
): ServiceClaim[] {
  const out: ServiceClaim[] = s.clusterIPs.map((ip) => ({ kind: "clusterIP", ip }));
  for (const p of s.ports) {
    if (p.nodePort !== undefined) {
      out.push({ kind: "nodePort", protocol: p.protocol, port: p.nodePort });
    }
  }
  if (s.healthCheckNodePort !== undefined) {
    out.push({ kind: "nodePort", protocol: "TCP", port: s.healthCheckNodePort });
  }
  return dedupe(out);
}

/**
 * What a stored manifest holds, read leniently (a stored manifest that no longer validates,
 * e.g. after the ranges changed, still releases its claims when deleted).
 */
export function manifestClaims(manifest: unknown): ServiceClaim[] {
  const spec = (manifest as { spec?: Record<string, unknown> } | null)?.spec;
  if (!spec || typeof spec !== "object") return [];
  const out: ServiceClaim[] = [];
  const ips = Array.isArray(spec.clusterIPs) ? spec.clusterIPs : [spec.clusterIP];
  for (const text of ips) {
    const ip = typeof text === "string" ? tryParseIp(text) : undefined;
    if (ip) out.push({ kind: "clusterIP", ip: ip.toString() });
  }
  const nodePort = (protocol: unknown, port: unknown) => {
    const proto = protocol === undefined ? "TCP" : protocol;
    if (
      typeof port === "number" && Number.isInteger(port) && port > 0 && port < 65536 &&
      SERVICE_PROTOCOLS.includes(proto as ServiceProtocol)
    ) {
      out.push({ kind: "nodePort", protocol: proto as ServiceProtocol, port });
    }
  };
  for (const p of Array.isArray(spec.ports) ? spec.ports : []) {
    if (p && typeof p === "object") nodePort(p.protocol, p.nodePort);
  }
  nodePort("TCP", spec.healthCheckNodePort);
  return dedupe(out);
}

/** The usage of a set of services (later ones do not displace earlier holders). */
export function usageOf(services: Iterable<Service>): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of services) {
    for (const c of serviceClaims(s)) {
      const id = claimId(c);
      if (!out.has(id)) out.set(id, objectKey(s));
    }
  }
  return out;
}

function dedupe(claims: ServiceClaim[]): ServiceClaim[] {
  const seen = new Set<string>();
  return claims.filter((c) => !seen.has(claimId(c)) && seen.add(claimId(c)));
}

/** A store refused a service because other services hold some of its claims. */
export class ServiceClaimError extends Error {
  override name = "ServiceClaimError";
  constructor(
    readonly service: string,
    readonly conflicts: Array<{ claim: ServiceClaim; holder: string }>,
  ) {
    super(
      `Service ${service}: ` +
        conflicts.map((c) => `${describeClaim(c.claim)} is held by service ${c.holder}`).join(
          "; ",
        ),
    );
  }
}
