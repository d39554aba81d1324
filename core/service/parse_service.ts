// Kubernetes `v1` Service manifests checked and normalised into the service model, the way the
// API server validates and defaults them. Pure: no I/O, never throws for bad input.
//
// Contract:
// - Every problem is reported at once, each at a field path from the document root
//   (`spec.ports[1].nodePort`) with a sentence-case message quoting the value.
// - Defaults are explicit in the result: type ClusterIP, protocol TCP, targetPort = port,
//   traffic policies Cluster (the legacy "Global" reads as Cluster), affinity timeout 10800 s.
// - Cluster IPs must lie in the configured range of their family; an absent cluster IP is left
//   empty here (allocate.ts fills it in when a service is applied).
// - Fields Kubernetes has that need nothing from hypha (allocateLoadBalancerNodePorts,
//   loadBalancerClass, publishNotReadyAddresses, trafficDistribution, ...) are accepted; truly
//   unknown spec fields are issues, so a typo never passes silently.
// - `selector: {}` selects nothing, like no selector: the service's slices are written by hand.
// - Load-balancer IPs (status.loadBalancer.ingress[].ip, then spec.loadBalancerIP) count only
//   for type LoadBalancer; other types keep none.
import { ipTexts, readCidr, readIp } from "./_addresses.ts";
import {
  asBool,
  asObject,
  asString,
  checkFields,
  child,
  enumOf,
  field,
  Issues,
  item,
  listOf,
  type Obj,
  quote,
  stringMap,
} from "./_fields.ts";
import { labelKeyProblem, labelValueProblem } from "../identity/label_syntax.ts";
import type { Ip } from "../ipam/ip.ts";
import { readClusterIPs } from "./cluster_ips.ts";
import { readHead, readObjectMeta } from "./metadata.ts";
import {
  LB_ALGORITHM_ANNOTATION,
  type LbAlgorithm,
  type Parsed,
  type Service,
  SERVICE_TYPES,
} from "./model.ts";
import { serviceNameProblem, subdomainProblem } from "./names.ts";
import type { ServiceOptions } from "./options.ts";
import { hasNodePorts, readServicePorts } from "./service_ports.ts";
import { readAffinity, readHealthCheckNodePort, readTrafficPolicy } from "./traffic.ts";

export const SERVICE_API_VERSION = "v1";

const SPEC_FIELDS = [
  "type",
  "clusterIP",
  "clusterIPs",
  "ipFamilies",
  "ipFamilyPolicy",
  "selector",
  "ports",
  "externalIPs",
  "externalName",
  "loadBalancerIP",
  "loadBalancerSourceRanges",
  "loadBalancerClass",
  "allocateLoadBalancerNodePorts",
  "externalTrafficPolicy",
  "internalTrafficPolicy",
  "healthCheckNodePort",
  "sessionAffinity",
  "sessionAffinityConfig",
  "publishNotReadyAddresses",
  "trafficDistribution",
];
const LB_ALGORITHMS: readonly LbAlgorithm[] = ["random", "maglev"];
/** Fields typed but not modelled (allocateLoadBalancerNodePorts is read by allocate.ts). */
const ACCEPTED_TYPES: Record<string, "bool" | "string"> = {
  publishNotReadyAddresses: "bool",
  allocateLoadBalancerNodePorts: "bool",
  loadBalancerClass: "string",
  trafficDistribution: "string",
};

export function parseService(doc: unknown, opts: ServiceOptions): Parsed<Service> {
  const issues = new Issues();
  const value = readService(doc, opts, issues);
  return value && issues.count === 0 ? { ok: true, value } : { ok: false, issues: issues.list };
}

function readService(doc: unknown, opts: ServiceOptions, issues: Issues): Service | undefined {
  const obj = readHead(doc, { apiVersion: SERVICE_API_VERSION, kind: "Service" }, issues);
  if (!obj) return undefined;
  checkFields(obj, "", issues, ["apiVersion", "kind", "metadata", "spec", "status"]);
  const meta = readObjectMeta(obj, issues, serviceNameProblem);
  const algorithm = readAlgorithm(meta.annotations, issues);
  const specV = field(obj, "spec");
  if (specV === undefined) {
    issues.add("spec", `Field "spec" is required (at least the ports)`);
    return undefined;
  }
  const spec = asObject(specV, "spec", issues);
  if (!spec) return undefined;
  checkFields(spec, "spec", issues, SPEC_FIELDS);

  const type = enumOf(field(spec, "type"), "spec.type", issues, SERVICE_TYPES, "ClusterIP");
  const ips = readClusterIPs(spec, type, opts, issues);
  if (type === "ExternalName") readExternalName(spec, issues);
  const ports = readServicePorts(field(spec, "ports"), {
    type,
    portsOptional: ips.headless || type === "ExternalName",
    nodePortRange: opts.nodePortRange,
  }, issues);
  const selector = readSelector(field(spec, "selector"), issues);
  const externalIPs = readIps(field(spec, "externalIPs"), "spec.externalIPs", issues);
  const lbIPs = readLoadBalancerIPs(obj, spec, issues);
  const sourceRanges = readSourceRanges(spec, type, issues);
  const external = readTrafficPolicy(spec, "externalTrafficPolicy", issues, true);
  if (external === "Local" && type !== undefined && !hasNodePorts(type)) {
    issues.add(
      "spec.externalTrafficPolicy",
      `"Local" is only for types "NodePort" and "LoadBalancer", got type ${quote(type)}`,
    );
  }
  const internal = readTrafficPolicy(spec, "internalTrafficPolicy", issues, false);
  const healthCheckNodePort = readHealthCheckNodePort(spec, type, external, opts, issues);
  if (healthCheckNodePort !== undefined) {
    const i = ports.findIndex((p) => p.nodePort === healthCheckNodePort && p.protocol === "TCP");
    if (i >= 0) {
      issues.add(
        "spec.healthCheckNodePort",
        `Node port ${healthCheckNodePort} is also ${item("spec.ports", i)}.nodePort`,
      );
    }
  }
  const affinity = readAffinity(spec, issues);
  for (const [key, kind] of Object.entries(ACCEPTED_TYPES)) {
    const v = field(spec, key);
    if (v === undefined) continue;
    if (kind === "bool") asBool(v, child("spec", key), issues);
    else asString(v, child("spec", key), issues);
  }
  readStatus(obj, issues);
  if (type === undefined || external === undefined || internal === undefined) return undefined;
  if (affinity === null) return undefined;
  return {
    namespace: meta.namespace,
    name: meta.name,
    type,
    clusterIPs: ipTexts(ips.ips),
    headless: ips.headless,
    ...(selector ? { selector } : {}),
    ports,
    externalIPs: ipTexts(externalIPs),
    loadBalancerIPs: type === "LoadBalancer" ? ipTexts(lbIPs) : [],
    loadBalancerSourceRanges: sourceRanges,
    externalTrafficPolicy: external,
    internalTrafficPolicy: internal,
    ...(healthCheckNodePort === undefined ? {} : { healthCheckNodePort }),
    ...(affinity === undefined ? {} : { affinityTimeoutSeconds: affinity }),
    ...(algorithm ? { algorithm } : {}),
    annotations: meta.annotations,
  };
}

function readAlgorithm(annotations: Record<string, string>, issues: Issues) {
  const v = annotations[LB_ALGORITHM_ANNOTATION];
  if (v === undefined || (LB_ALGORITHMS as readonly string[]).includes(v)) {
    return v as LbAlgorithm | undefined;
  }
  issues.add(
    child("metadata.annotations", LB_ALGORITHM_ANNOTATION),
    `Must be "random" or "maglev", got ${quote(v)}`,
  );
  return undefined;
}

function readExternalName(spec: Obj, issues: Issues): void {
  const v = field(spec, "externalName");
  if (v === undefined || v === "") {
    issues.add("spec.externalName", `Field "externalName" is required for type "ExternalName"`);
    return;
  }
  const name = asString(v, "spec.externalName", issues);
  const problem = name === undefined ? undefined : subdomainProblem(name.replace(/\.$/, ""));
  if (problem) issues.add("spec.externalName", `Invalid DNS name ${quote(name)}: ${problem}`);
}

function readSelector(v: unknown, issues: Issues): Record<string, string> | undefined {
  const selector = stringMap(v, "spec.selector", issues);
  for (const [key, value] of Object.entries(selector)) {
    const problem = labelKeyProblem(key) ?? labelValueProblem(value);
    if (problem) issues.add(child("spec.selector", key), `Invalid label ${quote(key)}: ${problem}`);
  }
  return Object.keys(selector).length ? selector : undefined;
}

function readIps(v: unknown, path: string, issues: Issues): Ip[] {
  const out: Ip[] = [];
  listOf(v, path, issues).forEach((x, i) => {
    const ip = readIp(x, item(path, i), issues, { routable: true });
    if (ip) out.push(ip);
  });
  return out;
}

/** status.loadBalancer.ingress[].ip, then spec.loadBalancerIP. */
function readLoadBalancerIPs(obj: Obj, spec: Obj, issues: Issues): Ip[] {
  const out: Ip[] = [];
  const status = field(obj, "status");
  const lb = status && typeof status === "object"
    ? field(status as Obj, "loadBalancer")
    : undefined;
  const ingressV = lb && typeof lb === "object" ? field(lb as Obj, "ingress") : undefined;
  listOf(ingressV, "status.loadBalancer.ingress", issues).forEach((entry, i) => {
    const at = item("status.loadBalancer.ingress", i);
    const o = asObject(entry, at, issues);
    if (!o) return;
    checkFields(o, at, issues, ["ip", "hostname", "ipMode", "ports"]);
    const ipV = field(o, "ip");
    const ip = ipV === undefined || ipV === ""
      ? undefined
      : readIp(ipV, child(at, "ip"), issues, { routable: true });
    if (ip) out.push(ip);
  });
  const specIp = field(spec, "loadBalancerIP");
  if (specIp !== undefined && specIp !== "") {
    const ip = readIp(specIp, "spec.loadBalancerIP", issues, { routable: true });
    if (ip) out.push(ip);
  }
  return out;
}

function readSourceRanges(spec: Obj, type: string | undefined, issues: Issues): string[] {
  const path = "spec.loadBalancerSourceRanges";
  const list = listOf(field(spec, "loadBalancerSourceRanges"), path, issues);
  if (list.length && type !== undefined && type !== "LoadBalancer") {
    issues.add(
      path,
      `Must not be set for type ${quote(type)} (source ranges restrict LoadBalancer IPs)`,
    );
    return [];
  }
  const out: string[] = [];
  list.forEach((v, i) => {
    const c = readCidr(v, item(path, i), issues);
    if (c && !out.includes(c)) out.push(c);
  });
  return out;
}

function readStatus(obj: Obj, issues: Issues): void {
  const v = field(obj, "status");
  if (v === undefined) return;
  const status = asObject(v, "status", issues);
  if (!status) return;
  checkFields(status, "status", issues, ["loadBalancer", "conditions"]);
  const lb = field(status, "loadBalancer");
  if (lb === undefined) return;
  const o = asObject(lb, "status.loadBalancer", issues);
  if (o) checkFields(o, "status.loadBalancer", issues, ["ingress"]);
}
