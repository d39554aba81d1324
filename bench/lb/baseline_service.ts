// The service shape the kube-proxy baselines are generated from (one ClusterIP service port and
// its endpoints), its validation, and the chain-name hash both kube-proxy designs use: SHA-256
// of a name, base32 (RFC 4648 alphabet), truncated. The rule generators are pure; a bad service
// is rejected here, naming it, instead of failing a 10,000-service restore at some line number.
import { createHash } from "node:crypto";

export interface BaselineEndpoint {
  ip: string;
  port: number;
}

export interface BaselineService {
  name: string;
  namespace: string;
  clusterIP: string;
  port: number;
  protocol: "TCP" | "UDP";
  endpoints: BaselineEndpoint[];
  /** A NodePort service: also reachable on this port of the node's own addresses. */
  nodePort?: number;
}

/** kube-proxy's masquerade mark bit (--iptables-masquerade-bit 14). */
export const MASQ_MARK = "0x4000";

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** The first `length` base32 characters of SHA-256(`input`). */
export function nameHash(input: string, length: number): string {
  const digest = createHash("sha256").update(input).digest();
  let out = "";
  let acc = 0;
  let bits = 0;
  for (const byte of digest) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(acc >>> bits) & 31];
      if (out.length === length) return out;
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

/** The service has a single unnamed port; its port name in chain names and comments is `p<port>`. */
export function portName(s: BaselineService): string {
  return `p${s.port}`;
}

/** "namespace/name:p80", kube-proxy's ServicePortName text. */
export function servicePortName(s: BaselineService): string {
  return `${s.namespace}/${s.name}:${portName(s)}`;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIPv4(s: string): boolean {
  return IPV4.test(s);
}

export function checkCidr(cidr: string): void {
  const [addr, len, ...rest] = cidr.split("/");
  const n = Number(len);
  if (rest.length || !isIPv4(addr ?? "") || !/^\d{1,2}$/.test(len ?? "") || n > 32) {
    throw new Error(`Cluster CIDR "${cidr}": not an IPv4 prefix like 10.244.0.0/16`);
  }
}

const isPort = (p: number) => Number.isInteger(p) && p >= 1 && p <= 65535;

/** Throws on the first service the generators cannot turn into valid rules. */
export function checkServices(services: readonly BaselineService[]): void {
  const names = new Set<string>();
  const frontends = new Set<string>();
  for (const [i, s] of services.entries()) {
    const at = `Service ${i} ("${s.namespace}/${s.name}")`;
    if (!DNS_LABEL.test(s.namespace)) throw new Error(`${at}: namespace is not a DNS label`);
    if (!DNS_LABEL.test(s.name)) throw new Error(`${at}: name is not a DNS label`);
    if (!isIPv4(s.clusterIP)) throw new Error(`${at}: clusterIP "${s.clusterIP}" is not IPv4`);
    if (!isPort(s.port)) throw new Error(`${at}: port "${s.port}" is not 1-65535`);
    if (s.protocol !== "TCP" && s.protocol !== "UDP") {
      throw new Error(`${at}: protocol "${s.protocol}" is not TCP or UDP`);
    }
    if (s.endpoints.length === 0) {
      throw new Error(`${at}: no endpoints (kube-proxy would reject, which is not modelled)`);
    }
    const seen = new Set<string>();
    for (const e of s.endpoints) {
      if (!isIPv4(e.ip)) throw new Error(`${at}: endpoint ip "${e.ip}" is not IPv4`);
      if (!isPort(e.port)) throw new Error(`${at}: endpoint port "${e.port}" is not 1-65535`);
      const key = `${e.ip}:${e.port}`;
      if (seen.has(key)) throw new Error(`${at}: endpoint "${key}" is listed twice`);
      seen.add(key);
    }
    if (s.nodePort !== undefined) {
      if (!isPort(s.nodePort)) throw new Error(`${at}: nodePort "${s.nodePort}" is not 1-65535`);
      const np = `node:${s.nodePort}/${s.protocol}`;
      if (frontends.has(np)) {
        throw new Error(`${at}: nodePort ${s.nodePort}/${s.protocol} is used by another service`);
      }
      frontends.add(np);
    }
    const name = servicePortName(s);
    if (names.has(name)) throw new Error(`${at}: service port "${name}" is listed twice`);
    names.add(name);
    const frontend = `${s.clusterIP}:${s.port}/${s.protocol}`;
    if (frontends.has(frontend)) throw new Error(`${at}: "${frontend}" is used by another service`);
    frontends.add(frontend);
  }
}
