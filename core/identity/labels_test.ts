import assert from "node:assert/strict";
import { identityLabels, labelsKey } from "./labels.ts";

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
