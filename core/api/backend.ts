// What the admin API needs from the agent. The agent implements it; API tests pass a fake.
import type { Hono } from "hono";
import type { KernelFeatures } from "../bpf/probe.ts";
import type { PluginStatus } from "../plugin/host.ts";
import type { FlowsView } from "../flows/observer.ts";
import type { StateFileDamage } from "../state_files/mod.ts";

export interface NodeStatus {
  name: string;
  cluster: string;
  version: string;
  pid: number;
  startedAt: string;
  ready: boolean;
  /** The agent process's memory, bytes (Deno.memoryUsage()). */
  memory?: { rss: number; heapUsed: number; heapTotal: number; external: number };
  /** State files found damaged since the agent started, with what it rebuilt instead. */
  damagedStateFiles?: StateFileDamage[];
}

export interface AttachmentRow {
  ifname: string;
  ifindex: number;
  direction: "ingress" | "egress";
  kind: "tcx" | "tc";
  program: string;
  programId: number;
}

export interface DatapathStatus {
  attachMode: string;
  devices: string[];
  attachments: AttachmentRow[];
  /** Writes to BPF maps and links since the agent started. */
  mapWrites: number;
  linkWrites: number;
  lastReconcile: { at: string; ok: boolean; errors: string[] } | null;
}

export interface MapRow {
  name: string;
  owner: string;
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  entries: number;
  fillRatio: number;
  pinned: string | null;
}

export interface CounterRow {
  ifname: string;
  ifindex: number;
  direction: "ingress" | "egress";
  packets: number;
  bytes: number;
  drops: number;
  dropsByReason: Record<string, number>;
}

export interface ConfigRow {
  path: string;
  value: unknown;
  source: string;
}

export interface NodeRow {
  name: string;
  cluster: string;
  addresses: string[];
  podCIDRs: string[];
  source: string;
  self: boolean;
}

/**
 * A record a source rejected (a bad value in the cluster store or the manifest directory): it is
 * not used; `keeping` says its last accepted version stays in force. Shown until the record is
 * fixed or removed.
 */
export interface RejectedRecordRow {
  kind: string;
  namespace: string;
  name: string;
  /** The etcd key, or the manifest file and document. */
  source: string;
  issues: Array<{ path: string; message: string }>;
  keeping: boolean;
}

/** Kinds of rejected records `hypha node list` shows (about nodes and their pods). */
export const NODE_RECORD_KINDS = ["Node", "PodCIDRClaim", "Endpoint"] as const;

export interface EndpointRow {
  node: string;
  id: number;
  namespace: string;
  pod: string;
  identity: number;
  ips: string[];
  labels: Record<string, string>;
  containerId: string;
  /** Local endpoints only: host-side interface and state. */
  hostIfname?: string;
  state?: string;
}

export interface NetworkView {
  routing: string;
  addresses: string[];
  podCIDRs: string[];
  mtu: number;
  tunnelDevice: string | null;
  masquerade: boolean;
  ipam: Array<{ cidr: string; used: number; available: number }>;
  store: { kind: string; connected: boolean; synced: boolean; lastError?: string };
}

/** The datapath's flow event counters (bpf/lib/trace.h struct event_stats, summed over CPUs). */
export interface FlowEventStats {
  /** Events written to the ring buffer. */
  sent: number;
  /** Events lost because the ring buffer was full (Hubble's PERF_EVENT_RING_BUFFER losses). */
  lost: number;
  /** Drop events over the per-second budget (observability.dropEventsPerSecond). */
  limited: number;
}

export interface AdminBackend {
  node(): NodeStatus;
  features(): KernelFeatures;
  datapath(): DatapathStatus;
  plugins(): PluginStatus[];
  enablePlugin(id: string): Promise<void>;
  disablePlugin(id: string): Promise<void>;
  config(): ConfigRow[];
  maps(): MapRow[];
  /** Throws NotFoundError for an unknown map. Keys and values are JSON-safe. */
  dumpMap(name: string, limit: number): Array<{ key: unknown; value: unknown }>;
  counters(): CounterRow[];
  /** Prometheus text exposition format. */
  metrics(): string;
  pluginRoutes(): Array<{ plugin: string; path: string; app: Hono }>;
  /** Pod networking; null when networking is disabled on this node. */
  network(): NetworkView | null;
  nodes(): NodeRow[];
  /** Records the node's sources rejected, every kind. */
  rejectedRecords(): RejectedRecordRow[];
  /** Endpoints this node knows: its own and, with a cluster store, every other node's. */
  endpoints(): EndpointRow[];
  /** A local endpoint in detail; throws NotFoundError. */
  endpoint(id: number): Record<string, unknown>;
  /** One CNI request from the plugin (core/cni/protocol.ts); never throws. */
  cni(body: unknown): Promise<{ status: number; body: unknown }>;
  /** Policies in force, their problems, and the node's policy computation state. */
  policies(): Record<string, unknown>;
  /** Applies every manifest of a YAML/JSON text, or none (throws with every issue). */
  applyPolicies(text: string): Promise<Record<string, unknown>>;
  /** Deletes the policies a YAML/JSON text names. */
  deletePolicies(text: string): Promise<Record<string, unknown>>;
  validatePolicies(text: string): Array<{ path: string; message: string }>;
  tracePolicy(q: { from: string; to: string; port: string }): Record<string, unknown>;
  /**
   * Applies every Service and EndpointSlice of a YAML/JSON text, or none: throws with every
   * issue (400), or with every allocation conflict (409).
   */
  applyServices(text: string): Promise<Record<string, unknown>>;
  /** Deletes the services and slices a YAML/JSON text names. */
  deleteServices(text: string): Promise<Record<string, unknown>>;
  /** Checks Service and EndpointSlice manifests without storing or allocating anything. */
  validateServices(text: string): Array<{ path: string; message: string }>;
  /**
   * Flow observability (core/flows FlowObserver); absent, or undefined when
   * observability.enabled is false: the flow routes answer 503.
   */
  flows?(): FlowsView | undefined;
  /** The datapath's flow event counters; absent or null before the datapath is loaded. */
  flowEventStats?(): FlowEventStats | null;
}
