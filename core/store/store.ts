// The cluster store: where this node registers itself, claims its pod CIDRs, publishes its
// endpoints and learns about every other node and endpoint. Two sources implement it: `local`
// (a manifest directory and the admin API, for one node or a bare-metal set without a store)
// and `etcd` (kvstore mode, the distributed engine for multi-node clusters). Both write what
// they learn into core's state tables; nothing else in the agent knows which one runs.
import type { EndpointRecord } from "../state/mod.ts";

export interface NodeRegistration {
  name: string;
  cluster: string;
  /** Underlay addresses, IPv4 first. */
  addresses: string[];
  /** Random id of this agent's state directory: tells a restart from a second agent. */
  instance: string;
}

export interface PodCidrRequest {
  family: 4 | 6;
  pool: string;
  maskSize: number;
  /** A fixed CIDR from config: claimed as is. */
  fixed?: string;
}

export interface PodLabels {
  labels: Record<string, string>;
  namespaceLabels: Record<string, string>;
  serviceAccount?: string;
  namedPorts?: Record<string, { port: number; protocol: string }>;
}

export interface StoreStatus {
  kind: "local" | "etcd";
  connected: boolean;
  /** The first full sync of nodes and endpoints has completed. */
  synced: boolean;
  lastError?: string;
  detail: Record<string, unknown>;
}

/** A second agent claims a node name that a live agent holds. */
export class NodeConflictError extends Error {
  override name = "NodeConflictError";
}

export interface ClusterStore {
  readonly kind: "local" | "etcd";
  /** Resolves after the first full sync (remote nodes and endpoints are in the state tables). */
  readonly synced: Promise<void>;
  /**
   * Claims this node's pod CIDRs (the same ones across restarts) and registers the node.
   * Waits (retrying with a log line) while the store is unreachable; throws NodeConflictError or
   * an error naming the field when the claim cannot succeed.
   */
  register(node: NodeRegistration, cidrs: PodCidrRequest[]): Promise<string[]>;
  /** Starts watching the cluster into the state tables. */
  start(): Promise<void>;
  /** Publishes (or withdraws) a local endpoint; queued and retried until the store has it. */
  publishEndpoint(ep: EndpointRecord): void;
  withdrawEndpoint(ep: Pick<EndpointRecord, "node" | "id">): void;
  /** The numeric identity of a label set, allocated when new. */
  identityFor(labels: Record<string, string>): Promise<number>;
  /**
   * The identities this node's endpoints use now (reference counting: an identity no node
   * references any more is garbage-collected).
   */
  useIdentities(ids: ReadonlySet<number>): void;
  /** Labels the store holds for a pod (manifests, or keys in etcd), if any. */
  podLabels(namespace: string, name: string): Promise<PodLabels | undefined>;
  /** Stores a validated policy manifest (create or replace); resolves with the store revision. */
  putPolicy(key: string, manifest: unknown): Promise<number>;
  /** Removes a policy; resolves with the store revision, or undefined when there was none. */
  deletePolicy(key: string): Promise<number | undefined>;
  /** The store revision the policies table reflects (compare with putPolicy's result). */
  readonly policyRevision: number;
  /**
   * Stores a Service manifest (create or replace; validated, with its allocations written in)
   * together with the claims of its cluster IPs and node ports, atomically; claims it no longer
   * holds are released. Throws ServiceClaimError (core/service/claims.ts) naming the holder
   * when another service holds one. Resolves with the store revision.
   */
  putService(key: string, manifest: unknown): Promise<number>;
  /** Removes a service and releases its claims; undefined when there was none. */
  deleteService(key: string): Promise<number | undefined>;
  /** The service manifest the store holds now (fresh, not the mirrored table), if any. */
  storedService(key: string): Promise<unknown | undefined>;
  putEndpointSlice(key: string, manifest: unknown): Promise<number>;
  deleteEndpointSlice(key: string): Promise<number | undefined>;
  status(): StoreStatus;
  stop(): Promise<void>;
}
