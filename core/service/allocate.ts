// Allocation of a Service's cluster IPs, node ports and health check node port, as the API
// server does when a service is created or updated. Pure: the caller passes what other services
// hold (their claims) and gets the manifest back with every allocation written into it
// (spec.clusterIP, spec.clusterIPs, spec.ipFamilies, spec.ports[i].nodePort,
// spec.healthCheckNodePort), so what is stored is explicit and the same on every node.
//
// Rules:
// - Values the manifest sets are kept; one another service holds is a conflict that names the
//   field and the holder.
// - A value the manifest leaves out is taken from `previous` (the service as stored before), so
//   re-applying a service never moves its addresses or ports (as in Kubernetes).
// - Anything still missing is chosen deterministically: a hash of the service key (and port)
//   picks a starting point in the range, and the first free value from there wins. The same
//   inputs give the same allocation on every node (the local store relies on this for its
//   manifest directory).
// - Dynamic cluster IPs skip the range's network address, its first address (left for a service
//   the operator places there, as Kubernetes does with kubernetes.default) and, for IPv4, the
//   broadcast address. A manifest may still set the first address explicitly.
// - Dynamic node ports avoid every port another service holds with any protocol; a service's
//   TCP and UDP ports with the same number share one node port when it is free (DNS-style).
// - LoadBalancer services with allocateLoadBalancerNodePorts false get no node ports.
import type { Cidr } from "../ipam/cidr.ts";
import { type Ip, tryParseIp } from "../ipam/ip.ts";
import { child, Issues, item, type Obj } from "./_fields.ts";
import { claimId, type ServiceClaim, serviceClaims, type ServiceUsage } from "./claims.ts";
import { clusterIPPath, familyName, readClusterIPs, wantedFamilies } from "./cluster_ips.ts";
import {
  objectKey,
  type Service,
  SERVICE_PROTOCOLS,
  type ServiceIssue,
  type ServicePort,
} from "./model.ts";
import type { NodePortRange, ServiceOptions } from "./options.ts";
import { parseService } from "./parse_service.ts";
import { hasNodePorts } from "./service_ports.ts";

/** What a service held before this apply. */
export type PreviousAllocation = Pick<Service, "clusterIPs" | "ports" | "healthCheckNodePort">;

export interface AllocateInput {
  /** A manifest parseService() accepts (anything else throws). */
  manifest: unknown;
  options: ServiceOptions;
  /** Claims of every service (this one's own are ignored). */
  usage: ServiceUsage;
  previous?: PreviousAllocation | undefined;
  /** false: only check the manifest's own values against the usage, allocate nothing. */
  fill?: boolean;
}

/** A problem that is about the cluster's state, not the manifest: a conflict or a full range. */
export interface AllocationIssue extends ServiceIssue {
  /** The service that holds the value (conflicts only). */
  holder?: string;
}

export type Allocation =
  | {
    ok: true;
    manifest: Obj;
    service: Service;
    claims: ServiceClaim[];
    /** Nothing was left to allocate: the manifest sets every value itself. */
    complete: boolean;
  }
  | { ok: false; issues: AllocationIssue[] };

export function allocateService(input: AllocateInput): Allocation {
  const { options, usage } = input;
  const parsed = parseService(input.manifest, options);
  if (!parsed.ok) {
    const first = parsed.issues[0]!;
    throw new Error(`allocateService() needs a valid Service: ${first.path}: ${first.message}`);
  }
  const svc = parsed.value;
  const key = objectKey(svc);
  const fill = input.fill ?? true;
  // fill: false changes nothing, so the input is not copied (checking stays cheap)
  const manifest = (fill ? structuredClone(input.manifest) : input.manifest) as Obj;
  const spec = manifest.spec as Obj;
  const issues: AllocationIssue[] = [];
  const holderOf = (c: ServiceClaim) => {
    const owner = usage.get(claimId(c));
    return owner !== undefined && owner !== key ? owner : undefined;
  };
  const conflict = (path: string, c: ServiceClaim, what: string) => {
    const holder = holderOf(c);
    if (holder) {
      issues.push({ path, message: `${what} is already allocated to service ${holder}`, holder });
    }
    return holder !== undefined;
  };

  // Cluster IPs
  const ips = readClusterIPs(spec, svc.type, options, new Issues());
  ips.ips.forEach((ip, i) => {
    conflict(
      clusterIPPath(spec, i),
      { kind: "clusterIP", ip: ip.toString() },
      `Cluster IP "${ip}"`,
    );
  });
  const families = wantedFamilies(ips, svc.type, options.clusterIPRanges.map((r) => r.family));
  if (fill && families.length > 0) {
    // Looked up in the usage, not copied out of it: allocating n services stays linear.
    const taken = (ip: string) => {
      const owner = usage.get(`clusterIP/${ip}`);
      return owner !== undefined && owner !== key;
    };
    const chosen: Ip[] = [];
    for (const family of families) {
      const range = options.clusterIPRanges.find((r) => r.family === family)!;
      const free = (ip: Ip) => !taken(ip.toString()) && range.contains(ip);
      const ip = ips.ips.find((x) => x.family === family) ??
        input.previous?.clusterIPs.map((t) => tryParseIp(t)).find((x) =>
          x?.family === family && free(x)
        ) ??
        pickIp(range, `${key}/${familyName(family)}`, taken, usage.size);
      if (!ip) {
        issues.push({
          path: "spec.clusterIP",
          message: `No free cluster IP left in ${range} (${
            family === 4 ? "services.clusterIPRange" : "services.clusterIPRangeV6"
          }): all ${usableCount(range)} dynamic addresses are allocated`,
        });
        continue;
      }
      chosen.push(ip);
    }
    if (chosen.length === families.length) {
      spec.clusterIP = chosen[0]!.toString();
      spec.clusterIPs = chosen.map((ip) => ip.toString());
      spec.ipFamilies = chosen.map((ip) => familyName(ip.family));
    }
  }

  // Node ports
  const specPorts = Array.isArray(spec.ports) ? spec.ports as Obj[] : [];
  const wantsNodePorts = hasNodePorts(svc.type) &&
    !(svc.type === "LoadBalancer" && spec.allocateLoadBalancerNodePorts === false);
  svc.ports.forEach((p, i) => {
    if (p.nodePort === undefined) return;
    conflict(
      child(item("spec.ports", i), "nodePort"),
      { kind: "nodePort", protocol: p.protocol, port: p.nodePort },
      `Node port ${p.nodePort}/${p.protocol}`,
    );
  });
  const hcPort = svc.healthCheckNodePort;
  if (hcPort !== undefined) {
    conflict(
      "spec.healthCheckNodePort",
      { kind: "nodePort", protocol: "TCP", port: hcPort },
      `Node port ${hcPort}/TCP`,
    );
  }
  if (fill) {
    const ports = new NodePorts(options.nodePortRange, usage, key, svc.ports);
    if (wantsNodePorts) {
      svc.ports.forEach((p, i) => {
        if (p.nodePort !== undefined) return;
        const n = ports.choose(p, input.previous, `${key}/${p.port}/${p.protocol}`);
        if (n === undefined) {
          issues.push({ path: child(item("spec.ports", i), "nodePort"), message: ports.full() });
          return;
        }
        p.nodePort = n;
        specPorts[i]!.nodePort = n;
      });
    }
    if (
      hasNodePorts(svc.type) && svc.externalTrafficPolicy === "Local" && hcPort === undefined
    ) {
      const prev = input.previous?.healthCheckNodePort;
      const n = prev !== undefined && ports.free(prev, "TCP")
        ? prev
        : ports.pick(`${key}/healthCheckNodePort`, "TCP");
      if (n === undefined) issues.push({ path: "spec.healthCheckNodePort", message: ports.full() });
      else spec.healthCheckNodePort = n;
    }
  }
  if (issues.length) return { ok: false, issues };
  const complete = families.every((f) => ips.ips.some((x) => x.family === f)) &&
    !(wantsNodePorts && svc.ports.some((p) => p.nodePort === undefined)) &&
    !(hasNodePorts(svc.type) && svc.externalTrafficPolicy === "Local" && hcPort === undefined);
  if (!fill) return { ok: true, manifest, service: svc, claims: serviceClaims(svc), complete };
  const done = parseService(manifest, options);
  if (!done.ok) {
    const first = done.issues[0]!;
    throw new Error(`allocateService() wrote an invalid Service: ${first.path}: ${first.message}`);
  }
  return {
    ok: true,
    manifest,
    service: done.value,
    claims: serviceClaims(done.value),
    complete,
  };
}

/** The node ports of one allocation: what others hold, and what this service has chosen. */
class NodePorts {
  /** "port/PROTO" this service holds now. */
  readonly #mine = new Set<string>();
  readonly #range: NodePortRange;
  readonly #ports: ServicePort[];
  readonly #usage: ServiceUsage;
  readonly #key: string;

  constructor(range: NodePortRange, usage: ServiceUsage, key: string, ports: ServicePort[]) {
    this.#range = range;
    this.#ports = ports;
    this.#usage = usage;
    this.#key = key;
    for (const p of ports) {
      if (p.nodePort !== undefined) this.#mine.add(`${p.nodePort}/${p.protocol}`);
    }
  }

  /** Another service holds port `n`, with any protocol (looked up, not copied: linear). */
  #taken(n: number): boolean {
    return SERVICE_PROTOCOLS.some((proto) => {
      const owner = this.#usage.get(`nodePort/${proto}/${n}`);
      return owner !== undefined && owner !== this.#key;
    });
  }

  free(n: number, protocol: string): boolean {
    return n >= this.#range.min && n <= this.#range.max && !this.#taken(n) &&
      !this.#mine.has(`${n}/${protocol}`);
  }

  /** The previous node port of this port, a sibling's of the other protocol, or a new one. */
  choose(p: ServicePort, previous: PreviousAllocation | undefined, seed: string) {
    const prev = previous?.ports.find((q) => q.port === p.port && q.protocol === p.protocol) ??
      (p.name
        ? previous?.ports.find((q) => q.name === p.name && q.protocol === p.protocol)
        : undefined);
    const sibling = this.#ports.find((q) => q.port === p.port && q.nodePort !== undefined);
    for (const n of [prev?.nodePort, sibling?.nodePort]) {
      if (n !== undefined && this.free(n, p.protocol)) return this.#take(n, p.protocol);
    }
    return this.pick(seed, p.protocol);
  }

  /** A port no one holds with any protocol, from a hash of `seed` on. */
  pick(seed: string, protocol: string): number | undefined {
    const size = this.#range.max - this.#range.min + 1;
    const start = hash(seed) % size;
    const limit = Math.min(size, this.#usage.size + this.#mine.size + 1);
    for (let i = 0; i < limit; i++) {
      const n = this.#range.min + (start + i) % size;
      if (!this.#taken(n) && ![...this.#mine].some((m) => m.startsWith(`${n}/`))) {
        return this.#take(n, protocol);
      }
    }
    return undefined;
  }

  #take(n: number, protocol: string): number {
    this.#mine.add(`${n}/${protocol}`);
    return n;
  }

  full(): string {
    const { min, max } = this.#range;
    return `No free node port left in ${min}-${max} (services.nodePortRange): all ` +
      `${max - min + 1} are allocated`;
  }
}

/** Dynamic addresses: all but the network address, the first address and IPv4 broadcast. */
function usableCount(range: Cidr): bigint {
  const n = range.size - 2n - (range.family === 4 ? 1n : 0n);
  return n > 0n ? n : 0n;
}

/** The first address not `taken` from a hash of `seed` on; `claims` bounds the probes. */
function pickIp(
  range: Cidr,
  seed: string,
  taken: (ip: string) => boolean,
  claims: number,
): Ip | undefined {
  const count = usableCount(range);
  if (count === 0n) return undefined;
  const start = BigInt(hash(seed)) % count;
  let limit = BigInt(claims + 1);
  if (limit > count) limit = count;
  for (let i = 0n; i < limit; i++) {
    const ip = range.nth(2n + (start + i) % count);
    if (!taken(ip.toString())) return ip;
  }
  return undefined;
}

/** FNV-1a, 32 bits: a stable, well-spread starting point (not a security property). */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
