// Manifest placeholders for addresses that exist only once pods are created:
//   ${ip:NS/POD}     the pod's IPv4 address (externals work too: ${ip:ext/one})
//   ${net:NS/POD/N}  the /N prefix that contains it, host bits zeroed (${net:x/b/4} -> 0.0.0.0/4)
// checkPlaceholders() runs at parse time so a typo fails before any cluster is touched;
// resolvePlaceholders() runs just before a manifest is applied.
import { at, type Fields } from "./_fields.ts";

const PLACEHOLDER = /\$\{([^}]*)\}/g;

type Ref = { kind: "ip"; key: string } | { kind: "net"; key: string; bits: number };

/** Parses the inside of `${...}`; returns the reason when it is not a placeholder. */
function parseRef(body: string): Ref | string {
  const colon = body.indexOf(":");
  const kind = body.slice(0, colon);
  const arg = body.slice(colon + 1);
  if (colon < 0 || (kind !== "ip" && kind !== "net")) {
    return `"\${${body}}" is not a placeholder: use \${ip:NS/POD} or \${net:NS/POD/N}`;
  }
  if (kind === "ip") return { kind, key: arg };
  const slash = arg.lastIndexOf("/");
  const bitsText = arg.slice(slash + 1);
  if (slash < 0 || !/^\d{1,2}$/.test(bitsText) || Number(bitsText) > 32) {
    return `"\${${body}}": the prefix length must be 0-32, as in \${net:x/b/24}`;
  }
  return { kind, key: arg.slice(0, slash), bits: Number(bitsText) };
}

/** Fails on any placeholder that is malformed or names no known pod or external. */
export function checkPlaceholders(
  value: unknown,
  known: ReadonlySet<string>,
  f: Fields,
  field: string,
): void {
  if (typeof value === "string") {
    if (value.includes("${") && value.replace(PLACEHOLDER, "").includes("${")) {
      f.fail(field, `unterminated placeholder in "${value}"`);
    }
    for (const m of value.matchAll(PLACEHOLDER)) {
      const ref = parseRef(m[1]!);
      if (typeof ref === "string") f.fail(field, ref);
      if (!known.has(ref.key)) {
        f.fail(field, `"${m[0]}" names "${ref.key}", which is no pod or external of this case`);
      }
    }
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => checkPlaceholders(v, known, f, at(field, i)));
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) checkPlaceholders(v, known, f, at(field, k));
  }
}

/** A copy of `value` with every placeholder replaced; `ips` maps pod/external keys to IPv4. */
export function resolvePlaceholders<T>(value: T, ips: ReadonlyMap<string, string>): T {
  if (typeof value === "string") {
    return value.replace(PLACEHOLDER, (whole, body: string) => {
      const ref = parseRef(body);
      const ip = typeof ref === "string" ? undefined : ips.get(ref.key);
      if (typeof ref === "string" || ip === undefined) {
        throw new Error(`Cannot resolve placeholder "${whole}": no such pod or external`);
      }
      return ref.kind === "ip" ? ip : prefixOf(ip, ref.bits);
    }) as T;
  }
  if (Array.isArray(value)) return value.map((v) => resolvePlaceholders(v, ips)) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, resolvePlaceholders(v, ips)]),
    ) as T;
  }
  return value;
}

/** The /bits prefix containing an IPv4 address, as CIDR text. */
export function prefixOf(ip: string, bits: number): string {
  const octets = ip.split(".").map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) {
    throw new Error(`Cannot take a prefix of "${ip}": not an IPv4 address`);
  }
  const n = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - bits);
  const base = Math.floor(n / size) * size;
  const out = [24, 16, 8, 0].map((shift) => Math.floor(base / 2 ** shift) % 256);
  return `${out.join(".")}/${bits}`;
}
