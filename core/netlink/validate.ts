// What may go into an `ip -batch` line. ip reads a batch line by cutting it at "#" (a comment),
// splitting it into words at whitespace and honouring quotes, so a value with a space, a newline,
// a quote or a "#" would become another argument, another command or a cut-off command. Every
// value is checked (typed: CIDRs and addresses through core/ipam) before a line is built and
// written back in canonical form; a bad one is a NetlinkError that names the field and quotes the
// value. Pure: nothing here runs ip.
import { NetlinkError } from "./exec.ts";
import { parseCidrOrReason } from "../ipam/cidr.ts";
import { type IpFamily, parseIpOrReason } from "../ipam/ip.ts";

const quote = (v: unknown) => JSON.stringify(typeof v === "string" ? v : String(v));

function invalid(what: string, value: unknown, field: string, reason: string): NetlinkError {
  return new NetlinkError(`Invalid ${what} ${quote(value)} for ${field}: ${reason}`);
}

/**
 * Why `name` is not a usable interface name, or undefined: the kernel's dev_valid_name (1-15
 * bytes, not "." or "..", no "/", ":" or whitespace), and none of the characters an `ip -batch`
 * line cannot carry (control characters, quotes, "\" and "#").
 */
export function ifnameProblem(name: string): string | undefined {
  if (name === "") return "must not be empty";
  if (name === "." || name === "..") return `must not be "." or ".."`;
  // IFNAMSIZ is 16 bytes including the terminating NUL.
  if (new TextEncoder().encode(name).length > 15) return "must be at most 15 bytes long";
  if (/[/:\s]/.test(name)) return `must not contain "/", ":" or whitespace`;
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f"'\\#]/.test(name)) {
    return `must not contain control characters, quotes, "\\" or "#"`;
  }
  return undefined;
}

/** Why `path` is not a network namespace path ip can be given, or undefined. */
export function netnsPathProblem(path: string): string | undefined {
  if (!path.startsWith("/")) return "must be an absolute path";
  if (path.length > 4095) return "must be at most 4095 characters long";
  if (!/^\/[A-Za-z0-9._@:+=,/-]*$/.test(path)) {
    return 'must contain only letters, digits, "/", ".", "_", "-", "@", ":", "+", "=" and ","';
  }
  if (path.split("/").some((s) => s === "..")) return 'must not contain ".." segments';
  return undefined;
}

export function ifname(value: unknown, field: string): string {
  if (typeof value !== "string") throw invalid("interface name", value, field, "not a string");
  const problem = ifnameProblem(value);
  if (problem) throw invalid("interface name", value, field, problem);
  return value;
}

export function netnsPath(value: unknown, field: string): string {
  if (typeof value !== "string") throw invalid("netns path", value, field, "not a string");
  const problem = netnsPathProblem(value);
  if (problem) throw invalid("netns path", value, field, problem);
  return value;
}

/** A prefix without host bits, in canonical text ("10.244.1.0/24"). */
export function cidr(value: unknown, field: string): { text: string; family: IpFamily } {
  const c = typeof value === "string" ? parseCidrOrReason(value, { strict: true }) : "not a string";
  if (typeof c === "string") throw invalid("CIDR", value, field, c);
  return { text: c.toString(), family: c.family };
}

/** An address in canonical text, of `family` when given. */
export function address(value: unknown, field: string, family?: IpFamily): string {
  const ip = typeof value === "string" ? parseIpOrReason(value) : "not a string";
  if (typeof ip === "string") throw invalid("IP address", value, field, ip);
  if (family !== undefined && ip.family !== family) {
    throw invalid("IP address", value, field, `must be an IPv${family} address`);
  }
  return ip.toString();
}

/** A MAC address as six colon-separated hex bytes, lower case. */
export function mac(value: unknown, field: string): string {
  if (typeof value !== "string" || !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(value)) {
    throw invalid("MAC address", value, field, 'must be six hex bytes such as "02:00:0a:f4:01:02"');
  }
  return value.toLowerCase();
}

/** An integer in [min, max]. */
export function intIn(
  value: unknown,
  field: string,
  what: string,
  min: number,
  max: number,
): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(what, value, field, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** An interface MTU: 68 (the IPv4 minimum) to 65535. */
export function mtu(value: unknown, field: string): number {
  return intIn(value, field, "MTU", 68, 65535);
}
