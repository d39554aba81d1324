// core/state: the typed state tables every source writes and every reconciler reads.
import type { EndpointSlice, Service } from "../service/model.ts";
import { type ReadonlyTable, Table } from "./table.ts";

export { type Change, type ReadonlyTable, Table } from "./table.ts";

/** A node of the cluster, as its agent registered it (or a Node manifest describes it). */
export interface NodeInfo {
  name: string;
  cluster: string;
  /** Underlay addresses, IPv4 first. */
  addresses: string[];
  /** Pod CIDRs the node allocates from (IPv4 first). */
  podCIDRs: string[];
  /** Where the row came from: this agent, a manifest, or the cluster store. */
  source: "self" | "manifest" | "etcd";
}

/** A workload endpoint (a pod's interface), on this node or another. */
export interface EndpointRecord {
  node: string;
  /** Endpoint id, unique per node. */
  id: number;
  containerId: string;
  ifname: string;
  namespace: string;
  pod: string;
  labels: Record<string, string>;
  identity: number;
  /** Addresses without prefix length, IPv4 first. */
  ips: string[];
  /** Named container ports (for policies that name ports). */
  namedPorts?: Record<string, NamedPort>;
  /** Host ports the runtime mapped to the pod (CNI runtimeConfig.portMappings). */
  hostPorts?: HostPortMapping[];
}

/** A CNI port mapping (the portMappings capability): node address and port -> the pod. */
export interface HostPortMapping {
  hostPort: number;
  containerPort: number;
  protocol: "TCP" | "UDP" | "SCTP";
  /** "" or absent: every node address. */
  hostIP?: string;
}

export interface NamedPort {
  port: number;
  protocol: string;
}

/** What the cluster says about a pod (a Pod manifest, or `pods/<ns>/<name>` in etcd). */
export interface PodMeta {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  namedPorts: Record<string, NamedPort>;
  serviceAccount?: string;
}

export interface NamespaceMeta {
  name: string;
  labels: Record<string, string>;
}

/** A numeric identity and the labels it stands for (cluster-wide). */
export interface IdentityRecord {
  id: number;
  labels: Record<string, string>;
}

/** A policy manifest as stored (validated when applied), keyed `<kind>/<namespace>/<name>`. */
export interface PolicyRecord {
  key: string;
  manifest: unknown;
  /** Store revision of the last change. */
  revision: number;
}

/** A Service as its source holds it, parsed (core/service), keyed `<namespace>/<name>`. */
export interface ServiceRecord {
  service: Service;
  /** Store revision of the last change (the manifest directory counts its reloads). */
  revision: number;
}

/** An EndpointSlice, parsed, keyed `<namespace>/<name>` (the slice's own name). */
export interface EndpointSliceRecord {
  slice: EndpointSlice;
  revision: number;
}

/** The kinds of records a source can reject. */
export const RECORD_KINDS = [
  "Node",
  "PodCIDRClaim",
  "Endpoint",
  "Pod",
  "Namespace",
  "Identity",
  "IdentityLabels",
  "Policy",
  "Service",
  "EndpointSlice",
] as const;

export type RecordKind = typeof RECORD_KINDS[number];

/** A problem with a record: the field path (from the record's root; "" = the record) and why. */
export interface RecordIssue {
  path: string;
  message: string;
}

/**
 * A record a source could not accept (a bad manifest in the directory, a bad value in etcd),
 * keyed by rejectedKey(): shown with its problems, never programmed. Each kind has one writer
 * (the source that reads it); removing or fixing the record removes the row.
 */
export interface RejectedRecord {
  kind: RecordKind;
  /** The namespace of a namespaced object ("" for nodes, endpoints, identities, claims). */
  namespace: string;
  /** The record's name within its kind: `n2`, `n2/17` (node/endpoint id), `70001`, `web`. */
  name: string;
  /** Where it came from: a manifest file and document, or the etcd key. */
  source: string;
  issues: RecordIssue[];
  /**
   * A previous version of the record was accepted and stays in force: a bad write never takes
   * away what worked (as an unreachable store keeps what was last known). Deleting the record
   * withdraws it.
   */
  keeping?: boolean;
}

/** Table key of a rejected record: `<kind>/<namespace>/<name>`, or `<kind>/<name>`. */
export function rejectedKey(r: Pick<RejectedRecord, "kind" | "namespace" | "name">): string {
  return r.namespace ? `${r.kind}/${r.namespace}/${r.name}` : `${r.kind}/${r.name}`;
}

/** Table key of an endpoint: `<node>/<id>`. */
export function endpointKey(ep: Pick<EndpointRecord, "node" | "id">): string {
  return `${ep.node}/${ep.id}`;
}

/** The tables of a node; services and policy add theirs. */
export interface State {
  nodes: Table<NodeInfo>;
  endpoints: Table<EndpointRecord>;
  /** Keyed `<namespace>/<name>`. */
  pods: Table<PodMeta>;
  namespaces: Table<NamespaceMeta>;
  /** Keyed by the identity number (decimal). */
  identities: Table<IdentityRecord>;
  policies: Table<PolicyRecord>;
  services: Table<ServiceRecord>;
  endpointSlices: Table<EndpointSliceRecord>;
  rejected: Table<RejectedRecord>;
}

/** What plugins see: the same tables, read-only. */
export interface StateView {
  nodes: ReadonlyTable<NodeInfo>;
  endpoints: ReadonlyTable<EndpointRecord>;
  pods: ReadonlyTable<PodMeta>;
  namespaces: ReadonlyTable<NamespaceMeta>;
  identities: ReadonlyTable<IdentityRecord>;
  policies: ReadonlyTable<PolicyRecord>;
  services: ReadonlyTable<ServiceRecord>;
  endpointSlices: ReadonlyTable<EndpointSliceRecord>;
  rejected: ReadonlyTable<RejectedRecord>;
}

export function createState(): State {
  return {
    nodes: new Table<NodeInfo>("nodes"),
    endpoints: new Table<EndpointRecord>("endpoints"),
    pods: new Table<PodMeta>("pods"),
    namespaces: new Table<NamespaceMeta>("namespaces"),
    identities: new Table<IdentityRecord>("identities"),
    policies: new Table<PolicyRecord>("policies"),
    services: new Table<ServiceRecord>("services"),
    endpointSlices: new Table<EndpointSliceRecord>("endpointSlices"),
    rejected: new Table<RejectedRecord>("rejected"),
  };
}

/** Key of a policy record. */
export function policyKey(ref: { kind: string; namespace?: string; name: string }): string {
  return `${ref.kind}/${ref.namespace ?? ""}/${ref.name}`;
}
