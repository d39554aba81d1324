// The portMappings capability (CNI conventions): a runtime that maps host ports to a pod passes
// them as runtimeConfig.portMappings, [{ hostPort, containerPort, protocol, hostIP }]. hypha
// serves them as HostPort frontends of the load balancer (plugins/lb), which is what the
// `portmap` plugin does with iptables; the plugin's network config declares
// `"capabilities": { "portMappings": true }` so the runtime sends them.
import type { HostPortMapping } from "../state/mod.ts";
import { isRecord, shown } from "./_validate.ts";
import { invalidField } from "./errors.ts";
import { tryParseIp } from "../ipam/mod.ts";

const PROTOCOLS: Record<string, HostPortMapping["protocol"]> = {
  tcp: "TCP",
  udp: "UDP",
  sctp: "SCTP",
};

function port(path: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 65535) {
    throw invalidField(path, `must be a port number 1-65535, got ${shown(v)}`);
  }
  return v as number;
}

/** Validates `runtimeConfig.portMappings`; throws a CNI error naming the field. */
export function parsePortMappings(value: unknown): HostPortMapping[] {
  const path = "runtimeConfig.portMappings";
  if (!Array.isArray(value)) throw invalidField(path, `must be an array, got ${shown(value)}`);
  const seen = new Set<string>();
  return value.map((m, i) => {
    const at = `${path}[${i}]`;
    if (!isRecord(m)) throw invalidField(at, `must be an object, got ${shown(m)}`);
    const protocol = PROTOCOLS[String(m.protocol ?? "tcp").toLowerCase()];
    if (!protocol) {
      throw invalidField(`${at}.protocol`, `must be tcp, udp or sctp, got ${shown(m.protocol)}`);
    }
    const hostIP = m.hostIP ?? "";
    if (typeof hostIP !== "string" || (hostIP !== "" && !tryParseIp(hostIP))) {
      throw invalidField(`${at}.hostIP`, `must be an IP address, got ${shown(hostIP)}`);
    }
    const mapping: HostPortMapping = {
      hostPort: port(`${at}.hostPort`, m.hostPort),
      containerPort: port(`${at}.containerPort`, m.containerPort),
      protocol,
      ...(hostIP ? { hostIP: tryParseIp(hostIP)!.toString() } : {}),
    };
    const key = `${mapping.hostIP ?? ""}:${mapping.hostPort}/${protocol}`;
    if (seen.has(key)) {
      throw invalidField(`${at}.hostPort`, `${mapping.hostPort}/${protocol} is mapped twice`);
    }
    seen.add(key);
    return mapping;
  });
}
