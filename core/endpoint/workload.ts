// A pod's identity, labels and named ports, from what the cluster store says about the pod and
// its namespace (it wins) and the labels the CNI call gave.
import { identityLabels } from "../identity/labels.ts";
import type { NamedPort, State } from "../state/mod.ts";
import type { ClusterStore } from "../store/store.ts";

export interface WorkloadSources {
  state: State;
  store: ClusterStore;
  cluster: string;
  /** Pod label keys left out of identities. */
  excludeLabels?: readonly string[];
}

export interface Workload {
  identity: number;
  labels: Record<string, string>;
  namedPorts: Record<string, NamedPort>;
  serviceAccount?: string;
}

/** Identity, labels and named ports of a pod as the store and the CNI call describe it. */
export async function resolveWorkload(
  o: WorkloadSources,
  namespace: string,
  pod: string,
  cniLabels: Record<string, string>,
): Promise<Workload> {
  const { state, store } = o;
  const podMeta = namespace && pod ? state.pods.get(`${namespace}/${pod}`) : undefined;
  const nsMeta = namespace ? state.namespaces.get(namespace) : undefined;
  const stored = podMeta || nsMeta
    ? {
      labels: podMeta?.labels ?? {},
      namespaceLabels: nsMeta?.labels ?? {},
      namedPorts: podMeta?.namedPorts ?? {},
      ...(podMeta?.serviceAccount ? { serviceAccount: podMeta.serviceAccount } : {}),
    }
    : namespace && pod
    ? await store.podLabels(namespace, pod)
    : undefined;
  const labels = { ...cniLabels, ...stored?.labels };
  const serviceAccount = stored?.serviceAccount;
  const identity = await store.identityFor(identityLabels({
    namespace: namespace || "default",
    labels,
    namespaceLabels: {
      "kubernetes.io/metadata.name": namespace || "default",
      ...stored?.namespaceLabels,
    },
    cluster: o.cluster,
    ...(serviceAccount ? { serviceAccount } : {}),
  }, o.excludeLabels));
  return {
    identity,
    labels,
    namedPorts: stored?.namedPorts ?? {},
    ...(serviceAccount ? { serviceAccount } : {}),
  };
}
