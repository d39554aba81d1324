// The contract between the conformance runner and a cluster that enforces policy. The runner only
// speaks this interface, so the same cases run against the lab (real agents, real datapath) and
// against the in-memory fake its own unit tests use.

/** One kind of probe: a TCP/UDP/SCTP connection to `port`, or an ICMP echo request (`port` 0). */
export interface ProbeSpec {
  protocol: "TCP" | "UDP" | "SCTP" | "ICMP";
  port: number;
}

export interface ConformanceCluster {
  readonly nodeCount: number;
  /** Whether this cluster can run a probe kind (e.g. no SCTP in the kernel): undefined = yes, else the reason. */
  unsupported(probe: ProbeSpec): string | undefined;
  createNamespace(name: string, labels: Record<string, string>): Promise<void>;
  setNamespaceLabels(name: string, labels: Record<string, string>): Promise<void>;
  /** Creates a pod that serves every port in `serve`; returns its IPv4 address. */
  createPod(
    key: string,
    opts: {
      labels: Record<string, string>;
      node: number;
      namedPorts: Record<string, { port: number; protocol: string }>;
      serve: ProbeSpec[];
    },
  ): Promise<{ ip: string }>;
  setPodLabels(key: string, labels: Record<string, string>): Promise<void>;
  /** An address outside the cluster (the lab's "world" namespace) that serves `serve`. */
  createExternal(key: string, ip: string, serve: ProbeSpec[]): Promise<void>;
  /** Applies a manifest (create or replace); rejects with an Error whose message explains why. */
  apply(manifest: unknown): Promise<void>;
  delete(ref: { kind: string; namespace?: string; name: string }): Promise<void>;
  /** Resolves once every node enforces everything applied so far. */
  settle(): Promise<void>;
  /** One bounded probe from a pod or external to a pod or external: true = reached. */
  probe(from: string, to: string, probe: ProbeSpec, timeoutMs: number): Promise<boolean>;
  /** Removes everything the case created (pods, namespaces, policies, externals) so the next case starts clean. */
  reset(): Promise<void>;
}
