// Port conditions: Kubernetes NetworkPolicyPort (`{protocol, port, endPort}`, protocol TCP by
// default, port a number or a container port name) and Cilium toPorts (`{ports: [{port, endPort,
// protocol}]}`, port a string, protocol ANY by default). Both become model L4 values; a port that
// is absent or 0 means every port of the protocol.
import type { L4, Protocol } from "../model.ts";
import { MAX_PER_ENTRY } from "./icmp.ts";
import { child, type Issues, item, oneOf, quote } from "./issues.ts";
import { portNameProblem } from "./names.ts";
import { asInt, asList, asObject, asString, checkFields, field, shown } from "./read.ts";

const K8S_PROTOCOLS = ["TCP", "UDP", "SCTP"] as const;
const CILIUM_PROTOCOLS = ["TCP", "UDP", "SCTP", "ANY"] as const;
const MESH = "needs the mesh plugin (plugins/mesh), which is not available yet";

/** PortRule fields that need an L7 proxy: rejected, never ignored. */
const UNSUPPORTED_PORT_RULE: Record<string, string> = {
  rules: `L7 rules ${MESH}`,
  listener: `Envoy listeners ${MESH}`,
  terminatingTLS: `TLS interception ${MESH}`,
  originatingTLS: `TLS interception ${MESH}`,
  serverNames: `TLS server name matching ${MESH}`,
};

/** A Kubernetes `ports` list; absent or empty means all ports (an empty result). */
export function parseK8sPorts(v: unknown, path: string, issues: Issues): L4[] | undefined {
  const list = asList(v, path, issues);
  if (!list) return undefined;
  const out = list.map((p, i) => parseK8sPort(p, item(path, i), issues));
  return out.every((l4) => l4 !== undefined) ? out as L4[] : undefined;
}

function parseK8sPort(v: unknown, path: string, issues: Issues): L4 | undefined {
  const o = asObject(v, path, issues);
  if (!o) return undefined;
  const before = issues.count;
  checkFields(o, path, issues, ["protocol", "port", "endPort"]);
  const protocol = parseProtocol(field(o, "protocol"), "TCP", K8S_PROTOCOLS, path, issues);
  const portV = field(o, "port");
  const portPath = child(path, "port");
  let port: number | string | undefined = 0;
  if (typeof portV === "number") port = asInt(portV, portPath, issues, "port", 1, 65535);
  else if (typeof portV === "string") {
    const problem = portNameProblem(portV);
    const hint = /^[0-9]+$/.test(portV) ? " (write a port number without quotes)" : "";
    if (problem) issues.add(portPath, `Invalid port name ${quote(portV)}: ${problem}${hint}`);
    port = problem ? undefined : portV;
  } else if (portV !== undefined) {
    issues.add(portPath, `Must be a port number or name, got ${shown(portV)}`);
    port = undefined;
  }
  const endV = field(o, "endPort");
  let endPort: number | undefined;
  if (endV !== undefined) {
    const endPath = child(path, "endPort");
    endPort = asInt(endV, endPath, issues, "endPort", 1, 65535);
    if (portV === undefined) issues.add(endPath, "endPort needs a numeric port");
    else if (typeof port === "string") {
      issues.add(endPath, `endPort cannot be used with the named port ${quote(port)}`);
    }
    checkRange(port, endPort, endPath, issues);
  }
  if (issues.count !== before || protocol === undefined || port === undefined) return undefined;
  return toL4(protocol, port, endPort);
}

/** A Cilium `toPorts` list; `deny` rules allow only `ports` in each entry. */
export function parseToPorts(
  v: unknown,
  path: string,
  issues: Issues,
  deny: boolean,
): L4[] | undefined {
  const list = asList(v, path, issues);
  if (!list) return undefined;
  const before = issues.count;
  const out: L4[] = [];
  list.forEach((entry, i) => {
    const at = item(path, i);
    const o = asObject(entry, at, issues);
    if (!o) return;
    checkFields(o, at, issues, ["ports"], deny ? {} : UNSUPPORTED_PORT_RULE);
    const portsPath = child(at, "ports");
    const portsV = field(o, "ports");
    const ports = portsV === undefined ? [] : asList(portsV, portsPath, issues);
    if (!ports) return;
    if (ports.length === 0) {
      issues.add(
        portsPath,
        `Must list at least one port (an empty entry allows nothing; "0" means all ports)`,
      );
    }
    if (ports.length > MAX_PER_ENTRY) {
      issues.add(portsPath, `Too many ports (${ports.length}): at most ${MAX_PER_ENTRY}`);
    }
    ports.forEach((p, j) => {
      const l4 = parseCiliumPort(p, item(portsPath, j), issues);
      if (l4) out.push(l4);
    });
  });
  return issues.count === before ? out : undefined;
}

function parseCiliumPort(v: unknown, path: string, issues: Issues): L4 | undefined {
  const o = asObject(v, path, issues);
  if (!o) return undefined;
  const before = issues.count;
  checkFields(o, path, issues, ["port", "endPort", "protocol"]);
  const protocolV = field(o, "protocol");
  if (protocolV === "ICMP" || protocolV === "ICMPv6") {
    issues.add(
      child(path, "protocol"),
      `Protocol ${quote(protocolV)} is written as an "icmps" rule`,
    );
  }
  const protocol = protocolV === "ICMP" || protocolV === "ICMPv6"
    ? undefined
    : parseProtocol(protocolV, "ANY", CILIUM_PROTOCOLS, path, issues);
  const port = parseCiliumPortValue(field(o, "port"), child(path, "port"), issues);
  const endV = field(o, "endPort");
  let endPort: number | undefined;
  if (endV !== undefined) {
    const endPath = child(path, "endPort");
    endPort = asInt(endV, endPath, issues, "endPort", 0, 65535);
    // Cilium's endPort is an int32 with omitempty: 0 is the same as not set.
    if (endPort === 0) endPort = undefined;
    else if (typeof port === "string") {
      issues.add(endPath, `endPort cannot be used with the named port ${quote(port)}`);
    } else if (port === 0) issues.add(endPath, `endPort needs a port other than 0 (all ports)`);
    checkRange(port, endPort, endPath, issues);
  }
  if (issues.count !== before || protocol === undefined || port === undefined) return undefined;
  return toL4(protocol, port, endPort);
}

/** "80", "0"/absent (all ports) or a container port name, case-insensitive as in Cilium. */
function parseCiliumPortValue(
  v: unknown,
  path: string,
  issues: Issues,
): number | string | undefined {
  if (v === undefined) return 0;
  if (typeof v === "number") {
    issues.add(path, `Must be a string: write ${quote(v)}`);
    return undefined;
  }
  const text = asString(v, path, issues);
  if (text === undefined) return undefined;
  if (/^[0-9]+$/.test(text)) {
    const n = Number(text);
    if (n <= 65535 && (text === "0" || !text.startsWith("0"))) return n;
    issues.add(path, `Invalid port ${quote(text)}: must be 0-65535 without leading zeros`);
    return undefined;
  }
  const name = text.toLowerCase();
  const problem = text === "" ? `must not be empty ("0" means all ports)` : portNameProblem(name);
  if (!problem) return name;
  issues.add(path, `Invalid port ${quote(text)}: ${problem}`);
  return undefined;
}

function parseProtocol<P extends Protocol>(
  v: unknown,
  fallback: P,
  accepted: readonly P[],
  path: string,
  issues: Issues,
): P | undefined {
  if (v === undefined) return fallback;
  const at = child(path, "protocol");
  const text = asString(v, at, issues);
  if (text === undefined) return undefined;
  if ((accepted as readonly string[]).includes(text)) return text as P;
  issues.add(at, `Unknown protocol ${quote(text)}: must be ${oneOf(accepted)}`);
  return undefined;
}

function checkRange(
  port: number | string | undefined,
  endPort: number | undefined,
  path: string,
  issues: Issues,
): void {
  if (typeof port === "number" && port > 0 && endPort !== undefined && endPort < port) {
    issues.add(
      path,
      `Port range ${port}-${endPort} is upside down: endPort must be at least port ${port}`,
    );
  }
}

function toL4(protocol: Protocol, port: number | string, endPort: number | undefined): L4 {
  if (typeof port === "string") return { kind: "named", protocol, name: port };
  // A range of one port is that port: one spelling per condition keeps policies comparable.
  return endPort === undefined || endPort === port
    ? { kind: "port", protocol, port }
    : { kind: "port", protocol, port, endPort };
}
