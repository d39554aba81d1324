// How a Service treats traffic: the external and internal traffic policies (the legacy
// "Global" reads as Cluster), the health check node port of services that keep external
// traffic on the node that received it, and ClientIP session affinity with its timeout.
import {
  asObject,
  checkFields,
  child,
  enumOf,
  field,
  intIn,
  type Issues,
  type Obj,
  shown,
} from "./_fields.ts";
import { DEFAULT_AFFINITY_TIMEOUT_S, type ServiceType, type TrafficPolicy } from "./model.ts";
import type { ServiceOptions } from "./options.ts";
import { hasNodePorts, readNodePort } from "./service_ports.ts";

export function readTrafficPolicy(
  spec: Obj,
  key: "externalTrafficPolicy" | "internalTrafficPolicy",
  issues: Issues,
  legacy: boolean,
): TrafficPolicy | undefined {
  const v = field(spec, key);
  if (v === undefined || v === "") return "Cluster";
  if (legacy && v === "Global") return "Cluster";
  return enumOf(v, child("spec", key), issues, ["Cluster", "Local"] as const, "Cluster");
}

export function readHealthCheckNodePort(
  spec: Obj,
  type: ServiceType | undefined,
  external: TrafficPolicy | undefined,
  opts: ServiceOptions,
  issues: Issues,
): number | undefined {
  const v = field(spec, "healthCheckNodePort");
  if (v === undefined || v === 0) return undefined;
  if (type !== undefined && (!hasNodePorts(type) || external === "Cluster")) {
    issues.add(
      "spec.healthCheckNodePort",
      `Must not be set unless type is "LoadBalancer" or "NodePort" with ` +
        `externalTrafficPolicy "Local", got ${shown(v)}`,
    );
    return undefined;
  }
  return readNodePort(v, "spec.healthCheckNodePort", opts.nodePortRange, issues);
}

/** The ClientIP timeout; undefined for None, null when invalid. */
export function readAffinity(spec: Obj, issues: Issues): number | undefined | null {
  const mode = enumOf(
    field(spec, "sessionAffinity"),
    "spec.sessionAffinity",
    issues,
    ["None", "ClientIP"] as const,
    "None",
  );
  const timeout = readAffinityTimeout(field(spec, "sessionAffinityConfig"), mode, issues);
  if (mode === undefined || timeout === null) return null;
  return mode === "ClientIP" ? timeout ?? DEFAULT_AFFINITY_TIMEOUT_S : undefined;
}

/** sessionAffinityConfig.clientIP.timeoutSeconds; null when invalid. */
function readAffinityTimeout(
  v: unknown,
  mode: "None" | "ClientIP" | undefined,
  issues: Issues,
): number | undefined | null {
  const path = "spec.sessionAffinityConfig";
  if (v === undefined) return undefined;
  const config = asObject(v, path, issues);
  if (!config) return null;
  checkFields(config, path, issues, ["clientIP"]);
  const clientV = field(config, "clientIP");
  if (clientV === undefined) return undefined;
  if (mode === "None") {
    issues.add(`${path}.clientIP`, `Must not be set when spec.sessionAffinity is "None"`);
    return null;
  }
  const client = asObject(clientV, `${path}.clientIP`, issues);
  if (!client) return null;
  checkFields(client, `${path}.clientIP`, issues, ["timeoutSeconds"]);
  const t = field(client, "timeoutSeconds");
  if (t === undefined) return undefined;
  return intIn(t, `${path}.clientIP.timeoutSeconds`, issues, 1, 86400) ?? null;
}
