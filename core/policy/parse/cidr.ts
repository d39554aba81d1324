// CIDR fields (ipBlock.cidr, fromCIDR, fromCIDRSet[].cidr) and their exceptions. CIDRs are
// normalised to their network ("10.0.0.5/24" becomes "10.0.0.0/24"), as both Kubernetes and
// Cilium accept host bits and match on the network.
import { type Cidr, parseCidr, tryParseIp } from "../../ipam/mod.ts";
import { type Issues, item, quote } from "./issues.ts";
import { asList, asString } from "./read.ts";

export interface CidrOptions {
  /** Accept a bare address as its host prefix (/32, /128), as Cilium's fromCIDR/toCIDR do. */
  bareIp?: boolean;
}

export function parseCidrField(
  v: unknown,
  path: string,
  issues: Issues,
  options: CidrOptions = {},
): Cidr | undefined {
  const text = asString(v, path, issues);
  if (text === undefined) return undefined;
  const ip = options.bareIp && !text.includes("/") ? tryParseIp(text) : undefined;
  try {
    return parseCidr(ip ? `${ip}/${ip.bits}` : text);
  } catch (err) {
    issues.add(path, (err as Error).message);
    return undefined;
  }
}

/**
 * The `except` list of `cidr` (canonical strings). Each exception must be a CIDR of the same
 * family inside `cidr`; `strict` (Kubernetes ipBlock) also forbids an exception equal to it.
 * `within` is the cidr with its text as written, for messages. When it is undefined (the cidr was invalid, or is a CIDR group known only later) only
 * the syntax is checked.
 */
export function parseExcept(
  v: unknown,
  path: string,
  issues: Issues,
  within: { cidr: Cidr; written: string } | undefined,
  strict: boolean,
): string[] | undefined {
  const list = asList(v, path, issues);
  if (!list) return undefined;
  const before = issues.count;
  const out: string[] = [];
  list.forEach((x, i) => {
    const at = item(path, i);
    const except = parseCidrField(x, at, issues);
    if (!except) return;
    out.push(except.toString());
    if (!within) return;
    const [e, c] = [quote(x), quote(within.written)];
    if (except.family !== within.cidr.family) {
      issues.add(
        at,
        `Except ${e} is IPv${except.family} but cidr ${c} is IPv${within.cidr.family}`,
      );
    } else if (!within.cidr.containsCidr(except)) {
      issues.add(at, `Except ${e} is not inside cidr ${c}`);
    } else if (strict && except.prefixLength === within.cidr.prefixLength) {
      issues.add(at, `Except ${e} must be smaller than cidr ${c}`);
    }
  });
  return issues.count === before ? out : undefined;
}
