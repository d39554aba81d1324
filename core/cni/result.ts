// ADD results: hypha's internal result (what the agent returns) and its conversion to the shape
// of the spec version the runtime asked for.
//
// Differences between versions (spec 0.3.0 .. 1.1.0 "Result"):
// - 0.3.0, 0.3.1, 0.4.0: each ip carries `version` ("4" | "6"); interfaces are name/mac/sandbox;
//   routes are dst/gw.
// - 1.0.0: `version` is removed from ips; otherwise as 0.4.0.
// - 1.1.0: interfaces gain `mtu`, `socketPath`, `pciID`; routes gain `mtu`, `advmss`,
//   `priority`, `table`, `scope`.
// Fields a version does not define are dropped, never passed through.
import { CniError, CniErrorCode } from "./errors.ts";
import { isCidr, isIP, isIPv6, isRecord, shown } from "./_validate.ts";
import { type CniVersion, isV1, versionAtLeast } from "./version.ts";

export interface CniInterface {
  name: string;
  mac?: string;
  /** 1.1.0+ */
  mtu?: number;
  /** The netns path for interfaces inside the container; absent for host interfaces. */
  sandbox?: string;
  /** 1.1.0+ */
  socketPath?: string;
  /** 1.1.0+ */
  pciID?: string;
}

export interface CniIpConfig {
  /** Address with prefix length, e.g. "10.0.0.5/32". */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
  /** 1.1.0+ (all five) */
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** hypha's internal ADD result: the 1.1.0 shape without `cniVersion`. */
export interface HyphaResult {
  interfaces: CniInterface[];
  ips: CniIpConfig[];
  routes: CniRoute[];
  dns: CniDns;
}

/** 1.0.0 / 1.1.0 result. */
export interface CniResultV1 extends HyphaResult {
  cniVersion: string;
}

/** 0.3.0 / 0.3.1 / 0.4.0 result. */
export interface CniResultV0 {
  cniVersion: string;
  interfaces: Array<Pick<CniInterface, "name" | "mac" | "sandbox">>;
  ips: Array<{ version: "4" | "6" } & CniIpConfig>;
  routes: Array<Pick<CniRoute, "dst" | "gw">>;
  dns: CniDns;
}

export type CniResult = CniResultV0 | CniResultV1;

const IFACE_V0 = ["name", "mac", "sandbox"] as const;
const IFACE_V11 = ["name", "mac", "mtu", "sandbox", "socketPath", "pciID"] as const;
const ROUTE_V0 = ["dst", "gw"] as const;
const ROUTE_V11 = ["dst", "gw", "mtu", "advmss", "priority", "table", "scope"] as const;

/** Converts an internal result to `version`'s shape. */
export function formatResult(version: CniVersion, result: HyphaResult): CniResult {
  const v11 = versionAtLeast(version, "1.1.0");
  const interfaces = result.interfaces.map((i) => pick(i, v11 ? IFACE_V11 : IFACE_V0));
  const routes = result.routes.map((r) => pick(r, v11 ? ROUTE_V11 : ROUTE_V0));
  const dns = pick(result.dns, ["nameservers", "domain", "search", "options"]);
  if (isV1(version)) {
    const ips = result.ips.map((ip) => pick(ip, ["address", "gateway", "interface"]));
    return { cniVersion: version, interfaces, ips, routes, dns };
  }
  const ips = result.ips.map((ip) => ({
    version: isIPv6(ip.address.split("/")[0]!) ? "6" as const : "4" as const,
    ...pick(ip, ["address", "gateway", "interface"]),
  }));
  return { cniVersion: version, interfaces, ips, routes, dns };
}

function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/**
 * Checks a result the agent returned (any version's shape; `version` on ips and unknown fields
 * are ignored) and returns it as a HyphaResult. Throws CniError code 6 naming the field.
 */
export function parseHyphaResult(raw: unknown): HyphaResult {
  if (!isRecord(raw)) throw badResult("result", `must be an object, got ${shown(raw)}`);
  const interfaces = list(raw, "interfaces").map((v, i) => parseInterface(`interfaces[${i}]`, v));
  const ips = list(raw, "ips").map((v, i) => {
    const at = `ips[${i}]`;
    if (!isRecord(v)) throw badResult(at, `must be an object, got ${shown(v)}`);
    const ip: CniIpConfig = { address: str(v, at, "address", isCidr, "an address/prefix") };
    if (v.gateway !== undefined) ip.gateway = str(v, at, "gateway", isIP, "an IP address");
    if (v.interface !== undefined) {
      if (
        !Number.isInteger(v.interface) || (v.interface as number) < 0 ||
        (v.interface as number) >= interfaces.length
      ) {
        throw badResult(
          `${at}.interface`,
          `must index "interfaces" (0-${interfaces.length - 1}), got ${shown(v.interface)}`,
        );
      }
      ip.interface = v.interface as number;
    }
    return ip;
  });
  const routes = list(raw, "routes").map((v, i) => {
    const at = `routes[${i}]`;
    if (!isRecord(v)) throw badResult(at, `must be an object, got ${shown(v)}`);
    const route: CniRoute = { dst: str(v, at, "dst", isCidr, "an address/prefix") };
    if (v.gw !== undefined) route.gw = str(v, at, "gw", isIP, "an IP address");
    for (const k of ["mtu", "advmss", "priority", "table", "scope"] as const) {
      if (v[k] !== undefined) route[k] = uint(v, at, k);
    }
    return route;
  });
  return { interfaces, ips, routes, dns: parseDns(raw.dns) };
}

function parseInterface(at: string, v: unknown): CniInterface {
  if (!isRecord(v)) throw badResult(at, `must be an object, got ${shown(v)}`);
  const iface: CniInterface = { name: str(v, at, "name", (s) => s !== "", "a non-empty string") };
  for (const k of ["mac", "sandbox", "socketPath", "pciID"] as const) {
    if (v[k] !== undefined) iface[k] = str(v, at, k, () => true, "a string");
  }
  if (v.mtu !== undefined) iface.mtu = uint(v, at, "mtu");
  return iface;
}

function parseDns(v: unknown): CniDns {
  if (v === undefined || v === null) return {};
  if (!isRecord(v)) throw badResult("dns", `must be an object, got ${shown(v)}`);
  const dns: CniDns = {};
  if (v.domain !== undefined) dns.domain = str(v, "dns", "domain", () => true, "a string");
  for (const k of ["nameservers", "search", "options"] as const) {
    if (v[k] === undefined) continue;
    const items = v[k];
    if (!Array.isArray(items) || !items.every((s) => typeof s === "string")) {
      throw badResult(`dns.${k}`, `must be a list of strings, got ${shown(items)}`);
    }
    dns[k] = items as string[];
  }
  return dns;
}

function list(raw: Record<string, unknown>, key: string): unknown[] {
  const v = raw[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw badResult(key, `must be a list, got ${shown(v)}`);
  return v;
}

function str(
  o: Record<string, unknown>,
  at: string,
  key: string,
  ok: (s: string) => boolean,
  what: string,
): string {
  const v = o[key];
  if (typeof v !== "string" || !ok(v)) {
    throw badResult(`${at}.${key}`, `must be ${what}, got ${shown(v)}`);
  }
  return v;
}

function uint(o: Record<string, unknown>, at: string, key: string): number {
  const v = o[key];
  if (!Number.isInteger(v) || (v as number) < 0) {
    throw badResult(`${at}.${key}`, `must be a non-negative integer, got ${shown(v)}`);
  }
  return v as number;
}

function badResult(path: string, reason: string): CniError {
  return new CniError(
    CniErrorCode.DecodingFailure,
    `Invalid agent result field ${JSON.stringify(path)}: ${reason}`,
  );
}
