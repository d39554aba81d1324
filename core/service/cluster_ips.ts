// A Service's virtual IPs: spec.clusterIP/clusterIPs, ipFamilies and ipFamilyPolicy, checked as
// the API server does (families in order, one address per family, each inside the configured
// range of its family), and the families a service should hold addresses of (what the
// allocator fills in).
import { type Ip, type IpFamily, parseIpOrReason } from "../ipam/ip.ts";
import {
  asList,
  asString,
  enumOf,
  field,
  type Issues,
  item,
  listOf,
  type Obj,
  quote,
} from "./_fields.ts";
import type { ServiceType } from "./model.ts";
import type { ServiceOptions } from "./options.ts";

export const IP_FAMILIES = ["IPv4", "IPv6"] as const;
export type IpFamilyName = typeof IP_FAMILIES[number];
export const IP_FAMILY_POLICIES = ["SingleStack", "PreferDualStack", "RequireDualStack"] as const;
export type IpFamilyPolicy = typeof IP_FAMILY_POLICIES[number];

export const familyName = (f: IpFamily): IpFamilyName => f === 4 ? "IPv4" : "IPv6";
export const familyOf = (n: IpFamilyName): IpFamily => n === "IPv4" ? 4 : 6;

export interface ClusterIPSpec {
  /** The addresses the manifest sets, in its order; [] when they are to be allocated. */
  ips: Ip[];
  /** spec.clusterIP "None". */
  headless: boolean;
  /** spec.ipFamilies as written. */
  families: IpFamily[];
  policy: IpFamilyPolicy;
}

/** Where the manifest wrote its addresses: clusterIPs when present, else clusterIP. */
export function clusterIPPath(spec: Obj, index: number): string {
  return Array.isArray(field(spec, "clusterIPs"))
    ? item("spec.clusterIPs", index)
    : "spec.clusterIP";
}

const rangeField = (f: IpFamily) =>
  f === 4 ? "services.clusterIPRange" : "services.clusterIPRangeV6";

export function readClusterIPs(
  spec: Obj,
  type: ServiceType | undefined,
  opts: ServiceOptions,
  issues: Issues,
): ClusterIPSpec {
  const configured = opts.clusterIPRanges.map((r) => r.family);
  const one = field(spec, "clusterIP");
  const first = one === undefined ? "" : asString(one, "spec.clusterIP", issues) ?? "";
  const listed = listOf(field(spec, "clusterIPs"), "spec.clusterIPs", issues);
  const texts: string[] = [];
  listed.forEach((v, i) => {
    const s = asString(v, item("spec.clusterIPs", i), issues);
    if (s !== undefined) texts.push(s);
  });
  if (first !== "" && texts.length > 0 && texts[0] !== first) {
    issues.add(
      "spec.clusterIPs[0]",
      `Must equal spec.clusterIP (${quote(first)}), got ${quote(texts[0])}`,
    );
  }
  if (texts.length === 0 && first !== "") texts.push(first);
  const out: ClusterIPSpec = {
    ips: [],
    headless: texts[0] === "None",
    families: [],
    policy: "SingleStack",
  };
  const pathOf = (i: number) => clusterIPPath(spec, i);

  if (type === "ExternalName" && texts.length > 0) {
    issues.add(pathOf(0), `Must not be set for type "ExternalName", got ${quote(texts[0])}`);
  } else if (out.headless) {
    if (texts.length > 1) {
      issues.add(pathOf(1), `Must not follow "None" (a headless service has no cluster IP)`);
    }
    if (type === "NodePort" || type === "LoadBalancer") {
      issues.add(
        pathOf(0),
        `"None" (headless) is only for type "ClusterIP", got type ${quote(type)}`,
      );
    }
  } else {
    if (texts.length > 2) {
      issues.add(
        "spec.clusterIPs",
        `Must have at most 2 addresses (one per family), got ${texts.length}`,
      );
    }
    texts.slice(0, 2).forEach((text, i) => {
      const ip = clusterIP(text, pathOf(i), opts, issues);
      if (!ip) return;
      if (out.ips[0]?.family === ip.family) {
        issues.add(
          pathOf(i),
          `Must be of the other IP family than ${quote(out.ips[0])} (both are ${
            familyName(ip.family)
          })`,
        );
        return;
      }
      out.ips.push(ip);
    });
  }

  const famPath = "spec.ipFamilies";
  const famList = field(spec, "ipFamilies");
  if (famList !== undefined && type === "ExternalName") {
    issues.add(famPath, `Must not be set for type "ExternalName"`);
  } else if (famList !== undefined) {
    const list = asList(famList, famPath, issues) ?? [];
    if (list.length > 2) issues.add(famPath, `Must have at most 2 families, got ${list.length}`);
    list.slice(0, 2).forEach((v, i) => {
      const at = item(famPath, i);
      const name = enumOf(v, at, issues, IP_FAMILIES, "IPv4");
      if (name === undefined) return;
      const f = familyOf(name);
      if (out.families.includes(f)) return issues.add(at, `Duplicate family ${quote(name)}`);
      if (!out.headless && !configured.includes(f)) {
        return issues.add(at, `${name} is not configured on this cluster: set ${rangeField(f)}`);
      }
      out.families.push(f);
    });
    out.ips.forEach((ip, i) => {
      const f = out.families[i];
      if (f !== undefined && f !== ip.family) {
        issues.add(
          pathOf(i),
          `Cluster IP ${quote(ip)} is ${familyName(ip.family)} but ${item(famPath, i)} is ${
            quote(familyName(f))
          }`,
        );
      }
    });
  }

  const policyPath = "spec.ipFamilyPolicy";
  const policyV = field(spec, "ipFamilyPolicy");
  if (policyV !== undefined && type === "ExternalName") {
    issues.add(policyPath, `Must not be set for type "ExternalName"`);
    return out;
  }
  const policy = enumOf(policyV, policyPath, issues, IP_FAMILY_POLICIES, "SingleStack");
  if (policy === undefined) return out;
  out.policy = policy;
  const count = Math.max(out.ips.length, out.families.length);
  if (count === 2 && policy === "SingleStack") {
    issues.add(
      policyPath,
      `Must be "PreferDualStack" or "RequireDualStack" for two IP families, got ${
        policyV === undefined ? "nothing" : quote(policyV)
      }`,
    );
  }
  if (policy === "RequireDualStack" && !out.headless && configured.length < 2) {
    issues.add(
      policyPath,
      `"RequireDualStack" needs an IPv4 and an IPv6 cluster IP range: set ` +
        `services.clusterIPRange and services.clusterIPRangeV6`,
    );
  }
  return out;
}

/** One written cluster IP, checked against the range of its family. */
function clusterIP(
  text: string,
  path: string,
  opts: ServiceOptions,
  issues: Issues,
): Ip | undefined {
  const ip = parseIpOrReason(text);
  if (typeof ip === "string") {
    issues.add(path, `Invalid IP address ${quote(text)}: ${ip}`);
    return undefined;
  }
  const range = opts.clusterIPRanges.find((r) => r.family === ip.family);
  if (!range) {
    issues.add(
      path,
      `Cluster IP ${quote(text)} is ${familyName(ip.family)} but no ${familyName(ip.family)} ` +
        `cluster IP range is configured (${rangeField(ip.family)})`,
    );
    return undefined;
  }
  if (!range.contains(ip)) {
    issues.add(
      path,
      `Cluster IP ${quote(text)} is outside the cluster IP range ${range} (${
        rangeField(ip.family)
      })`,
    );
    return undefined;
  }
  if (ip.equals(range.network) || (ip.family === 4 && range.size > 2n && ip.equals(range.last()))) {
    const what = ip.equals(range.network) ? "network" : "broadcast";
    issues.add(path, `Cluster IP ${quote(text)} is the ${what} address of ${range}`);
    return undefined;
  }
  return ip;
}

/**
 * The families a service's cluster IPs should have, in order: those it sets, then those it
 * names in ipFamilies, else the primary configured family; a dual-stack policy adds the other
 * family when the cluster has a range for it. Empty for headless and ExternalName services.
 */
export function wantedFamilies(
  c: ClusterIPSpec,
  type: ServiceType,
  configured: readonly IpFamily[],
): IpFamily[] {
  if (c.headless || type === "ExternalName") return [];
  const out: IpFamily[] = c.ips.map((ip) => ip.family);
  for (const f of c.families) if (!out.includes(f)) out.push(f);
  if (out.length === 0 && configured[0] !== undefined) out.push(configured[0]);
  if (c.policy !== "SingleStack" && out.length === 1) {
    const other = configured.find((f) => f !== out[0]);
    if (other !== undefined) out.push(other);
  }
  return out.slice(0, 2);
}
