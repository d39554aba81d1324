// Address fields of services and slices: IPs and CIDRs as canonical text, with the reason a
// text is not one. External and load-balancer IPs may not be addresses no packet is ever sent
// to (unspecified, loopback, link-local, multicast), as the API server checks.
import { parseCidrOrReason } from "../ipam/cidr.ts";
import { type Ip, parseIp, parseIpOrReason } from "../ipam/ip.ts";
import { asString, type Issues, quote } from "./_fields.ts";

const SPECIAL: ReadonlyArray<[string, string, number]> = [
  ["0.0.0.0", "an unspecified", 32],
  ["127.0.0.0", "a loopback", 8],
  ["169.254.0.0", "a link-local", 16],
  ["224.0.0.0", "a multicast", 4],
  ["::", "an unspecified", 128],
  ["::1", "a loopback", 128],
  ["fe80::", "a link-local", 10],
  ["ff00::", "a multicast", 8],
];

function specialKind(ip: Ip): string | undefined {
  for (const [net, kind, len] of SPECIAL) {
    const n = parseIp(net);
    const shift = BigInt(ip.bits - len);
    if (n.family === ip.family && n.value >> shift === ip.value >> shift) return kind;
  }
  return undefined;
}

/** An IP address as canonical text; `routable` also rejects the special addresses above. */
export function readIp(
  v: unknown,
  path: string,
  issues: Issues,
  opts: { routable?: boolean } = {},
): Ip | undefined {
  const text = asString(v, path, issues);
  if (text === undefined) return undefined;
  const ip = parseIpOrReason(text);
  if (typeof ip === "string") {
    issues.add(path, `Invalid IP address ${quote(text)}: ${ip}`);
    return undefined;
  }
  const special = opts.routable ? specialKind(ip) : undefined;
  if (special) {
    issues.add(path, `Invalid IP address ${quote(text)}: must not be ${special} address`);
    return undefined;
  }
  return ip;
}

/** A CIDR as canonical text (host bits cleared: "10.0.0.5/24" is 10.0.0.0/24). */
export function readCidr(v: unknown, path: string, issues: Issues): string | undefined {
  const text = asString(v, path, issues);
  if (text === undefined) return undefined;
  const c = parseCidrOrReason(text.trim());
  if (typeof c === "string") {
    issues.add(path, `Invalid CIDR ${quote(text)}: ${c}`);
    return undefined;
  }
  return c.toString();
}

/** Canonical texts, deduplicated, IPv4 first (stable within a family). */
export function ipTexts(ips: Ip[]): string[] {
  const out: string[] = [];
  for (const ip of [...ips].sort((a, b) => a.family - b.family)) {
    const t = ip.toString();
    if (!out.includes(t)) out.push(t);
  }
  return out;
}
