// core/state: the typed state tables every source writes and every reconciler reads.
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
}

/** Table key of an endpoint: `<node>/<id>`. */
export function endpointKey(ep: Pick<EndpointRecord, "node" | "id">): string {
  return `${ep.node}/${ep.id}`;
}

/** The tables of a node; services and policy add theirs. */
export interface State {
  nodes: Table<NodeInfo>;
  endpoints: Table<EndpointRecord>;
}

/** What plugins see: the same tables, read-only. */
export interface StateView {
  nodes: ReadonlyTable<NodeInfo>;
  endpoints: ReadonlyTable<EndpointRecord>;
}

export function createState(): State {
  return {
    nodes: new Table<NodeInfo>("nodes"),
    endpoints: new Table<EndpointRecord>("endpoints"),
  };
}
