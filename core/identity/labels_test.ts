import assert from "node:assert/strict";
import { identityLabels, labelsKey, workloadOf } from "./labels.ts";

Deno.test("identityLabels() prefixes, adds namespace and cluster, drops high-cardinality keys", () => {
  const labels = identityLabels({
    namespace: "x",
    cluster: "c1",
    labels: { app: "web", "pod-template-hash": "abc123" },
    namespaceLabels: { team: "blue" },
  });
  assert.deepEqual(labels, {
    "k8s:app": "web",
    "k8s:io.cilium.k8s.namespace.labels.team": "blue",
    "k8s:io.cilium.k8s.policy.cluster": "c1",
    "k8s:io.cilium.k8s.policy.serviceaccount": "default",
    "k8s:io.kubernetes.pod.namespace": "x",
  });
});

Deno.test("labelsKey() does not depend on insertion order", () => {
  assert.equal(labelsKey({ b: "2", a: "1" }), labelsKey({ a: "1", b: "2" }));
  assert.equal(labelsKey({ a: "1", b: "2" }), "a=1;b=2");
});

Deno.test("workloadOf() gives back the pod labels and service account of an identity", () => {
  const w = {
    namespace: "shop",
    labels: { app: "cart", tier: "web", "pod-template-hash": "abc" },
    namespaceLabels: { team: "a" },
    serviceAccount: "cart-sa",
    cluster: "c1",
  };
  assert.deepEqual(workloadOf(identityLabels(w)), {
    labels: { app: "cart", tier: "web" },
    serviceAccount: "cart-sa",
  });
  const { serviceAccount: _, ...noAccount } = w;
  assert.deepEqual(workloadOf(identityLabels(noAccount)), {
    labels: { app: "cart", tier: "web" },
  });
  assert.deepEqual(workloadOf({ "reserved:host": "" }), { labels: {} });
});
