// The labels that make up a workload's security identity: its pod labels and its namespace's
// labels (with the source prefix Cilium uses), the namespace itself, the cluster and the service
// account. High-cardinality labels that say nothing about security are filtered out, so pods of
// one deployment share an identity.

/** Label keys never part of an identity (as Cilium's default label filter). */
export const DEFAULT_EXCLUDED_LABELS = [
  "pod-template-hash",
  "controller-revision-hash",
  "pod-template-generation",
  "statefulset.kubernetes.io/pod-name",
  "batch.kubernetes.io/controller-uid",
  "controller-uid",
];

export const NAMESPACE_LABEL = "io.kubernetes.pod.namespace";
export const CLUSTER_LABEL = "io.cilium.k8s.policy.cluster";
export const SERVICE_ACCOUNT_LABEL = "io.cilium.k8s.policy.serviceaccount";
export const NAMESPACE_LABELS_PREFIX = "io.cilium.k8s.namespace.labels.";

export interface WorkloadLabels {
  namespace: string;
  labels: Record<string, string>;
  namespaceLabels?: Record<string, string>;
  serviceAccount?: string;
  cluster: string;
}

/** The identity label set, `k8s:`-prefixed keys, sorted; the same input always gives equal output. */
export function identityLabels(
  w: WorkloadLabels,
  excluded: readonly string[] = DEFAULT_EXCLUDED_LABELS,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(w.labels)) {
    if (!excluded.includes(k)) out[`k8s:${k}`] = v;
  }
  for (const [k, v] of Object.entries(w.namespaceLabels ?? {})) {
    out[`k8s:${NAMESPACE_LABELS_PREFIX}${k}`] = v;
  }
  out[`k8s:${NAMESPACE_LABEL}`] = w.namespace;
  out[`k8s:${CLUSTER_LABEL}`] = w.cluster;
  out[`k8s:${SERVICE_ACCOUNT_LABEL}`] = w.serviceAccount ?? "default";
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The pod labels and service account an identity label set was made from (identityLabels()
 * backwards): what a rebuilt endpoint can know of its pod when its file is lost. Labels the
 * identity left out (DEFAULT_EXCLUDED_LABELS) cannot come back.
 */
export function workloadOf(
  identity: Record<string, string>,
): { labels: Record<string, string>; serviceAccount?: string } {
  const labels: Record<string, string> = {};
  let serviceAccount: string | undefined;
  for (const [k, v] of Object.entries(identity)) {
    if (!k.startsWith("k8s:")) continue;
    const key = k.slice(4);
    if (key === SERVICE_ACCOUNT_LABEL) serviceAccount = v;
    else if (key === NAMESPACE_LABEL || key === CLUSTER_LABEL) continue;
    else if (!key.startsWith(NAMESPACE_LABELS_PREFIX)) labels[key] = v;
  }
  return { labels, ...(serviceAccount && serviceAccount !== "default" ? { serviceAccount } : {}) };
}

/** A stable text key of a label set: `k=v;k2=v2` in key order. */
export function labelsKey(labels: Record<string, string>): string {
  return Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`).join(";");
}
