// `discovery.k8s.io/v1` EndpointSlice manifests checked and normalised into the service model.
// Pure: no I/O, never throws for bad input; every problem is reported at its field path.
//
// Contract:
// - The slice names its service with the label kubernetes.io/service-name (required); the
//   service is in the slice's namespace. A slice whose service does not exist is valid (as in
//   Kubernetes); the load balancer gives it no frontend.
// - Addresses are canonical and of the slice's addressType (FQDN slices keep DNS names).
// - Conditions get the Kubernetes meaning of a missing value: ready true, serving = ready,
//   terminating false.
// - A port without a number is kept with `port` undefined (Kubernetes allows it: no backends).
import { readIp } from "./_addresses.ts";
import {
  asBool,
  asObject,
  asString,
  checkFields,
  child,
  enumOf,
  field,
  intIn,
  Issues,
  item,
  listOf,
  type Obj,
  quote,
} from "./_fields.ts";
import { readHead, readObjectMeta } from "./metadata.ts";
import {
  type AddressType,
  type EndpointSlice,
  type Parsed,
  SERVICE_NAME_LABEL,
  SERVICE_PROTOCOLS,
  type SliceEndpoint,
  type SlicePort,
} from "./model.ts";
import { dnsLabelProblem, subdomainProblem } from "./names.ts";

export const SLICE_API_VERSION = "discovery.k8s.io/v1";
const ADDRESS_TYPES: readonly AddressType[] = ["IPv4", "IPv6", "FQDN"];
/** Kubernetes' limits per slice and per endpoint. */
const MAX_ENDPOINTS = 1000;
const MAX_ADDRESSES = 100;

export function parseEndpointSlice(doc: unknown): Parsed<EndpointSlice> {
  const issues = new Issues();
  const value = readSlice(doc, issues);
  return value && issues.count === 0 ? { ok: true, value } : { ok: false, issues: issues.list };
}

function readSlice(doc: unknown, issues: Issues): EndpointSlice | undefined {
  const obj = readHead(doc, { apiVersion: SLICE_API_VERSION, kind: "EndpointSlice" }, issues);
  if (!obj) return undefined;
  checkFields(obj, "", issues, [
    "apiVersion",
    "kind",
    "metadata",
    "addressType",
    "endpoints",
    "ports",
  ]);
  const meta = readObjectMeta(obj, issues, subdomainProblem);
  const labelPath = child("metadata.labels", SERVICE_NAME_LABEL);
  const service = meta.labels[SERVICE_NAME_LABEL];
  if (service === undefined || service === "") {
    issues.add(
      labelPath,
      `Label ${quote(SERVICE_NAME_LABEL)} is required: it names the slice's service`,
    );
  }
  const typeV = field(obj, "addressType");
  if (typeV === undefined) issues.add("addressType", `Field "addressType" is required`);
  const addressType = typeV === undefined
    ? undefined
    : enumOf(typeV, "addressType", issues, ADDRESS_TYPES, "IPv4");
  const endpointsV = field(obj, "endpoints");
  const list = listOf(endpointsV, "endpoints", issues);
  if (list.length > MAX_ENDPOINTS) {
    issues.add("endpoints", `Must have at most ${MAX_ENDPOINTS} endpoints, got ${list.length}`);
  }
  const endpoints: SliceEndpoint[] = [];
  list.forEach((e, i) => {
    const ep = readEndpoint(e, item("endpoints", i), addressType, meta.namespace, issues);
    if (ep) endpoints.push(ep);
  });
  const ports = readPorts(field(obj, "ports"), issues);
  if (!service || !addressType || issues.count) return undefined;
  return {
    namespace: meta.namespace,
    name: meta.name,
    service,
    addressType,
    ports,
    endpoints,
  };
}

const ENDPOINT_FIELDS = [
  "addresses",
  "conditions",
  "hostname",
  "targetRef",
  "nodeName",
  "zone",
  "hints",
  "deprecatedTopology",
];

function readEndpoint(
  v: unknown,
  path: string,
  addressType: AddressType | undefined,
  namespace: string,
  issues: Issues,
): SliceEndpoint | undefined {
  const o = asObject(v, path, issues);
  if (!o) return undefined;
  checkFields(o, path, issues, ENDPOINT_FIELDS);
  const before = issues.count;
  const addrPath = child(path, "addresses");
  const list = listOf(field(o, "addresses"), addrPath, issues);
  if (list.length === 0) issues.add(addrPath, "Must have at least one address");
  if (list.length > MAX_ADDRESSES) {
    issues.add(addrPath, `Must have at most ${MAX_ADDRESSES} addresses, got ${list.length}`);
  }
  const addresses: string[] = [];
  list.forEach((a, i) => {
    const text = readAddress(a, item(addrPath, i), addressType, issues);
    if (text !== undefined && !addresses.includes(text)) addresses.push(text);
  });
  const { ready, serving, terminating } = readConditions(field(o, "conditions"), path, issues);
  const nodeName = optionalName(o, "nodeName", path, issues, subdomainProblem);
  const zone = optionalString(o, "zone", path, issues);
  const pod = readTargetRef(field(o, "targetRef"), child(path, "targetRef"), namespace, issues);
  optionalName(o, "hostname", path, issues, dnsLabelProblem);
  if (issues.count !== before) return undefined;
  return {
    addresses,
    ready,
    serving,
    terminating,
    ...(nodeName ? { nodeName } : {}),
    ...(zone ? { zone } : {}),
    ...(pod ? { pod } : {}),
  };
}

function readAddress(
  v: unknown,
  path: string,
  addressType: AddressType | undefined,
  issues: Issues,
): string | undefined {
  if (addressType === "FQDN") {
    const name = asString(v, path, issues);
    const problem = name === undefined ? undefined : subdomainProblem(name);
    if (problem) issues.add(path, `Invalid DNS name ${quote(name)}: ${problem}`);
    return problem ? undefined : name;
  }
  const ip = readIp(v, path, issues);
  if (!ip || !addressType) return undefined;
  if (`IPv${ip.family}` !== addressType) {
    issues.add(
      path,
      `Address ${quote(ip)} is IPv${ip.family} but addressType is ${quote(addressType)}`,
    );
    return undefined;
  }
  return ip.toString();
}

function readConditions(v: unknown, path: string, issues: Issues) {
  const at = child(path, "conditions");
  const o: Obj = v === undefined ? {} : asObject(v, at, issues) ?? {};
  checkFields(o, at, issues, ["ready", "serving", "terminating"]);
  const flag = (key: string) => {
    const x = field(o, key);
    return x === undefined ? undefined : asBool(x, child(at, key), issues);
  };
  const ready = flag("ready") ?? true;
  return { ready, serving: flag("serving") ?? ready, terminating: flag("terminating") ?? false };
}

/** targetRef of kind Pod as namespace/name (the slice's namespace when it names none). */
function readTargetRef(
  v: unknown,
  path: string,
  namespace: string,
  issues: Issues,
): string | undefined {
  if (v === undefined) return undefined;
  const o = asObject(v, path, issues);
  if (!o) return undefined;
  checkFields(o, path, issues, [
    "kind",
    "namespace",
    "name",
    "uid",
    "apiVersion",
    "resourceVersion",
    "fieldPath",
  ]);
  const kind = optionalString(o, "kind", path, issues);
  const ns = optionalString(o, "namespace", path, issues) || namespace;
  const name = optionalString(o, "name", path, issues);
  if (kind !== "Pod") return undefined;
  if (!name) {
    issues.add(child(path, "name"), `Field "name" is required for a Pod reference`);
    return undefined;
  }
  return `${ns}/${name}`;
}

function readPorts(v: unknown, issues: Issues): SlicePort[] {
  const out: SlicePort[] = [];
  const names = new Map<string, string>();
  listOf(v, "ports", issues).forEach((entry, i) => {
    const at = item("ports", i);
    const o = asObject(entry, at, issues);
    if (!o) return;
    checkFields(o, at, issues, ["name", "protocol", "port", "appProtocol"]);
    const before = issues.count;
    const name = optionalName(o, "name", at, issues, dnsLabelProblem) ?? "";
    const other = names.get(name);
    if (other !== undefined) {
      issues.add(child(at, "name"), `Duplicate port name ${quote(name)} (also ${other})`);
    }
    names.set(name, child(at, "name"));
    const protocol = enumOf(
      field(o, "protocol"),
      child(at, "protocol"),
      issues,
      SERVICE_PROTOCOLS,
      "TCP",
    );
    const portV = field(o, "port");
    const port = portV === undefined
      ? undefined
      : intIn(portV, child(at, "port"), issues, 1, 65535);
    optionalString(o, "appProtocol", at, issues);
    if (issues.count !== before || protocol === undefined) return;
    out.push({ name, protocol, ...(port === undefined ? {} : { port }) });
  });
  return out;
}

function optionalString(o: Obj, key: string, path: string, issues: Issues): string | undefined {
  const v = field(o, key);
  return v === undefined ? undefined : asString(v, child(path, key), issues);
}

function optionalName(
  o: Obj,
  key: string,
  path: string,
  issues: Issues,
  problemOf: (s: string) => string | undefined,
): string | undefined {
  const s = optionalString(o, key, path, issues);
  if (!s) return undefined;
  const problem = problemOf(s);
  if (problem) issues.add(child(path, key), `Invalid ${key} ${quote(s)}: ${problem}`);
  return problem ? undefined : s;
}
