// Node, Pod and Namespace manifests of the manifest directory read as records, with the shapes
// and checks of their etcd counterparts (records/): a Node's pod CIDRs inside this node's pools
// and clear of its own and of earlier Node manifests, InternalIP addresses that can be a node's,
// Kubernetes names and labels. Paths are from the document root (`spec.podCIDRs[0]`).
import { z } from "zod";
import { type Cidr, tryParseCidr } from "../ipam/mod.ts";
import { parseIpOrReason } from "../ipam/ip.ts";
import type { NamespaceMeta, PodMeta, RecordIssue } from "../state/mod.ts";
import { type Manifest } from "./manifests.ts";
import { type NodeContext, nodeIssues } from "./records/checks.ts";
import { keyIssue } from "./records/keys.ts";
import { quote } from "./records/issues.ts";
import { isObject } from "../policy/parse/read.ts";
import {
  checkRecord,
  cidrText,
  labelMap,
  namedPorts,
  nodeName,
  type Read,
  text,
} from "./records/shapes.ts";

export interface ManifestNode {
  name: string;
  /** InternalIP addresses, IPv4 first as written. */
  addresses: string[];
  podCIDRs: string[];
}

const nodeManifest = z.object({
  metadata: z.object({ name: nodeName }),
  spec: z.object({
    podCIDR: cidrText.optional(),
    podCIDRs: z.array(cidrText).max(2).optional(),
  }).optional(),
  status: z.object({
    addresses: z.array(z.object({ type: text(64), address: text(256) })).max(32).optional(),
  }).optional(),
});

const failed = <T>(issues: RecordIssue[]): Read<T> => ({ ok: false, issues });

/** A Node manifest as a node; `earlier` are the pod CIDRs of the Node manifests before it. */
export function readNodeManifest(
  m: Manifest,
  ctx: NodeContext,
  earlier: ReadonlyArray<{ node: string; cidr: Cidr }> = [],
): Read<ManifestNode> {
  const r = checkRecord(m.document, nodeManifest);
  if (!r.ok) return r;
  const { spec, status } = r.value;
  const fromList = spec?.podCIDRs !== undefined;
  const podCIDRs = spec?.podCIDRs ?? (spec?.podCIDR ? [spec.podCIDR] : []);
  const issues: RecordIssue[] = [];
  const addressPaths: string[] = [];
  const addresses: string[] = [];
  (status?.addresses ?? []).forEach((a, j) => {
    if (a.type !== "InternalIP") return;
    const path = `status.addresses[${j}].address`;
    const ip = parseIpOrReason(a.address);
    if (typeof ip === "string") {
      issues.push({ path, message: `Invalid IP address ${quote(a.address)}: ${ip}` });
    } else {
      addresses.push(ip.toString());
      addressPaths.push(path);
    }
  });
  if (podCIDRs.length && addresses.length === 0 && issues.length === 0) {
    issues.push({
      path: "status.addresses",
      message: "Must list an InternalIP address: the node's pod CIDRs are reached through it",
    });
  }
  const name = r.value.metadata.name;
  const path = (p: string) => {
    const m = /^(podCIDRs|addresses)\[(\d+)\]$/.exec(p);
    if (!m) return p === "name" ? "metadata.name" : p;
    const i = Number(m[2]);
    if (m[1] === "addresses") return addressPaths[i] ?? "status.addresses";
    return fromList ? `spec.podCIDRs[${i}]` : "spec.podCIDR";
  };
  for (const i of nodeIssues(name, { name, addresses, podCIDRs }, ctx)) {
    issues.push({ path: path(i.path), message: i.message });
  }
  podCIDRs.forEach((text, i) => {
    const c = tryParseCidr(text);
    const other = c && earlier.find((e) => e.node !== name && e.cidr.overlaps(c));
    if (other) {
      issues.push({
        path: path(`podCIDRs[${i}]`),
        message: `Pod CIDR ${quote(text)} overlaps ${quote(other.cidr)} of node ${
          quote(other.node)
        } (an earlier Node manifest)`,
      });
    }
  });
  return issues.length ? failed(issues) : { ok: true, value: { name, addresses, podCIDRs } };
}

/** Named ports of a Pod manifest's containers (spec.containers[].ports[].name). */
function namedPortsOf(m: Manifest): Record<string, { port: unknown; protocol: unknown }> {
  const out: Record<string, { port: unknown; protocol: unknown }> = {};
  const containers = Array.isArray(m.spec?.containers) ? m.spec.containers : [];
  for (const c of containers) {
    const ports = isObject(c) && Array.isArray(c.ports) ? c.ports : [];
    for (const p of ports) {
      if (isObject(p) && typeof p.name === "string" && p.containerPort !== undefined) {
        out[p.name] = { port: p.containerPort, protocol: p.protocol ?? "TCP" };
      }
    }
  }
  return out;
}

/** A Pod manifest's labels, named ports and service account, as the pods table holds them. */
export function readPodManifest(m: Manifest): Read<PodMeta> {
  const ports = namedPortsOf(m);
  const namespace = m.metadata.namespace ?? "default";
  const issues: RecordIssue[] = [];
  const key = keyIssue(`${namespace}/${m.metadata.name}`, ["namespace", "pod name"]);
  if (key) issues.push({ path: "metadata", message: key.message });
  const labels = checkRecord(m.metadata.labels ?? {}, labelMap);
  if (!labels.ok) {
    issues.push(...labels.issues.map((i) => ({ ...i, path: prefixed("metadata.labels", i.path) })));
  }
  const named = checkRecord(ports, namedPorts);
  if (!named.ok) {
    issues.push(...named.issues.map((i) => ({ ...i, path: prefixed("spec.containers", i.path) })));
  }
  const sa = m.spec?.serviceAccountName;
  const account = sa === undefined ? undefined : checkRecord(sa, text());
  if (account && !account.ok) {
    issues.push(...account.issues.map((i) => ({ ...i, path: "spec.serviceAccountName" })));
  }
  if (issues.length || !labels.ok || !named.ok) return failed(issues);
  return {
    ok: true,
    value: {
      namespace,
      name: m.metadata.name,
      labels: labels.value,
      namedPorts: named.value,
      ...(typeof sa === "string" && sa ? { serviceAccount: sa } : {}),
    },
  };
}

/** A Namespace manifest's labels (with kubernetes.io/metadata.name, as the API server sets). */
export function readNamespaceManifest(m: Manifest): Read<NamespaceMeta> {
  const key = keyIssue(m.metadata.name, ["namespace"]);
  const labels = checkRecord(m.metadata.labels ?? {}, labelMap);
  const issues = [
    ...(key ? [{ path: "metadata.name", message: key.message }] : []),
    ...(labels.ok
      ? []
      : labels.issues.map((i) => ({ ...i, path: prefixed("metadata.labels", i.path) }))),
  ];
  if (issues.length || !labels.ok) return failed(issues);
  return {
    ok: true,
    value: {
      name: m.metadata.name,
      labels: { "kubernetes.io/metadata.name": m.metadata.name, ...labels.value },
    },
  };
}

function prefixed(prefix: string, path: string): string {
  if (path === "") return prefix;
  return path.startsWith("[") ? `${prefix}${path}` : `${prefix}.${path}`;
}
