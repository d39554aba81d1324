// The shape of an endpoint file, checked on read: a file that parses as JSON but lacks a field
// the restore relies on (an address list, the host interface) is damaged, like an empty one.
import { parseIp } from "../ipam/mod.ts";
import type { LocalEndpoint } from "./persist.ts";

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

type Fields = Record<string, unknown>;

function need(ok: boolean, field: string, why: string): void {
  if (!ok) throw new Error(`field "${field}" ${why}`);
}

const isText = (v: unknown): v is string => typeof v === "string";
const isStringMap = (v: unknown) =>
  v !== null && typeof v === "object" && !Array.isArray(v) &&
  Object.values(v).every((x) => typeof x === "string");
const isObject = (v: unknown) => v !== null && typeof v === "object" && !Array.isArray(v);

function validIp(v: unknown): boolean {
  if (typeof v !== "string") return false;
  try {
    return parseIp(v).toString() === v;
  } catch {
    return false;
  }
}

/** The endpoint in `json` (the file `<id>.json`), or an error naming the first bad field. */
export function parseEndpointFile(json: unknown, id: number): LocalEndpoint {
  need(isObject(json), "(file)", "must be a JSON object");
  const f = json as Fields;
  need(f.id === id, "id", `must be ${id}, the number in the file name`);
  for (const k of ["node", "containerId", "ifname", "namespace", "pod", "netns", "hostIfname"]) {
    need(isText(f[k]), k, "must be a string");
  }
  need((f.containerId as string) !== "", "containerId", "must not be empty");
  need((f.hostIfname as string) !== "", "hostIfname", "must not be empty");
  need(Number.isInteger(f.identity) && (f.identity as number) > 0, "identity", "must be > 0");
  need(
    Array.isArray(f.ips) && f.ips.length > 0 && f.ips.every(validIp),
    "ips",
    "must be a non-empty list of IP addresses",
  );
  need(isStringMap(f.labels), "labels", "must be an object of strings");
  for (const k of ["hostMac", "podMac"]) need(isText(f[k]) && MAC.test(f[k]), k, "must be a MAC");
  need(Number.isInteger(f.mtu) && (f.mtu as number) >= 68, "mtu", "must be an integer >= 68");
  need(isText(f.createdAt), "createdAt", "must be a string");
  need(f.cniLabels === undefined || isStringMap(f.cniLabels), "cniLabels", "must be strings");
  need(f.namedPorts === undefined || isObject(f.namedPorts), "namedPorts", "must be an object");
  need(f.hostPorts === undefined || Array.isArray(f.hostPorts), "hostPorts", "must be a list");
  need(
    f.serviceAccount === undefined || isText(f.serviceAccount),
    "serviceAccount",
    "must be a string",
  );
  need(f.rebuiltAt === undefined || isText(f.rebuiltAt), "rebuiltAt", "must be a string");
  return f as unknown as LocalEndpoint;
}
