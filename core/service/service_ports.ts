// spec.ports of a Service: names (required and unique when there are several), protocol
// (TCP by default), port, targetPort (a number or a container port name; the port by default)
// and nodePort (NodePort and LoadBalancer services only, inside the node port range).
import {
  asObject,
  asString,
  checkFields,
  child,
  enumOf,
  field,
  intIn,
  type Issues,
  item,
  listOf,
  quote,
  shown,
} from "./_fields.ts";
import { SERVICE_PROTOCOLS, type ServicePort, type ServiceType } from "./model.ts";
import { dnsLabelProblem, ianaServiceNameProblem } from "./names.ts";
import type { NodePortRange } from "./options.ts";

const PORT_FIELDS = ["name", "protocol", "port", "targetPort", "nodePort", "appProtocol"];

/** Service types whose ports are reachable on every node's address. */
export function hasNodePorts(type: ServiceType | undefined): boolean {
  return type === "NodePort" || type === "LoadBalancer";
}

/** `min-max (services.nodePortRange)` checks of one node port; undefined for absent or 0. */
export function readNodePort(
  v: unknown,
  path: string,
  range: NodePortRange,
  issues: Issues,
): number | undefined {
  if (v === undefined || v === 0) return undefined;
  return intIn(v, path, issues, range.min, range.max, "services.nodePortRange");
}

export function readServicePorts(
  v: unknown,
  ctx: { type: ServiceType | undefined; portsOptional: boolean; nodePortRange: NodePortRange },
  issues: Issues,
): ServicePort[] {
  const list = listOf(v, "spec.ports", issues);
  if (list.length === 0 && !ctx.portsOptional) {
    issues.add(
      "spec.ports",
      `At least one port is required (unless the service is headless, spec.clusterIP "None", ` +
        `or of type "ExternalName")`,
    );
  }
  const out: ServicePort[] = [];
  const names = new Map<string, string>();
  const ports = new Map<string, string>();
  const nodePorts = new Map<string, string>();
  list.forEach((entry, i) => {
    const at = item("spec.ports", i);
    const o = asObject(entry, at, issues);
    if (!o) return;
    checkFields(o, at, issues, PORT_FIELDS);
    const before = issues.count;
    const name = readName(field(o, "name"), child(at, "name"), list.length > 1, issues);
    if (name) {
      const other = names.get(name);
      if (other) {
        issues.add(child(at, "name"), `Duplicate port name ${quote(name)} (also ${other})`);
      }
      names.set(name, child(at, "name"));
    }
    const protocol = enumOf(
      field(o, "protocol"),
      child(at, "protocol"),
      issues,
      SERVICE_PROTOCOLS,
      "TCP",
    );
    const portV = field(o, "port");
    if (portV === undefined) issues.add(child(at, "port"), `Field "port" is required`);
    const port = portV === undefined
      ? undefined
      : intIn(portV, child(at, "port"), issues, 1, 65535);
    if (port !== undefined && protocol !== undefined) {
      const id = `${port}/${protocol}`;
      const other = ports.get(id);
      if (other) issues.add(child(at, "port"), `Duplicate port ${id} (also ${other})`);
      ports.set(id, at);
    }
    const targetPort = readTargetPort(field(o, "targetPort"), child(at, "targetPort"), issues);
    const nodePortV = field(o, "nodePort");
    let nodePort: number | undefined;
    if (
      nodePortV !== undefined && nodePortV !== 0 && !hasNodePorts(ctx.type) &&
      ctx.type !== undefined
    ) {
      issues.add(
        child(at, "nodePort"),
        `Must not be set for type ${quote(ctx.type)} (node ports are for NodePort and ` +
          `LoadBalancer services), got ${shown(nodePortV)}`,
      );
    } else {
      nodePort = readNodePort(nodePortV, child(at, "nodePort"), ctx.nodePortRange, issues);
    }
    if (nodePort !== undefined && protocol !== undefined) {
      const id = `${nodePort}/${protocol}`;
      const other = nodePorts.get(id);
      if (other) issues.add(child(at, "nodePort"), `Node port ${id} is also ${other}`);
      nodePorts.set(id, child(at, "nodePort"));
    }
    if (issues.count !== before || port === undefined || protocol === undefined) return;
    out.push({
      name: name ?? "",
      protocol,
      port,
      targetPort: targetPort ?? port,
      ...(nodePort === undefined ? {} : { nodePort }),
    });
  });
  return out;
}

function readName(v: unknown, path: string, required: boolean, issues: Issues): string | undefined {
  if (v === undefined || v === "") {
    if (required) {
      issues.add(path, `Field "name" is required when a service has more than one port`);
    }
    return undefined;
  }
  const name = asString(v, path, issues);
  const problem = name === undefined ? undefined : dnsLabelProblem(name);
  if (problem) issues.add(path, `Invalid port name ${quote(name)}: ${problem}`);
  return problem ? undefined : name;
}

/** A number 1-65535 or a container port name; undefined (the port) when absent, 0 or "". */
function readTargetPort(v: unknown, path: string, issues: Issues): number | string | undefined {
  if (v === undefined || v === 0 || v === "") return undefined;
  if (typeof v === "number") return intIn(v, path, issues, 1, 65535);
  if (typeof v === "string") {
    const problem = ianaServiceNameProblem(v);
    if (!problem) return v;
    const hint = /^[0-9]+$/.test(v) ? " (write a port number without quotes)" : "";
    issues.add(path, `Invalid port name ${quote(v)}: ${problem}${hint}`);
    return undefined;
  }
  issues.add(path, `Must be a port number or name, got ${shown(v)}`);
  return undefined;
}
