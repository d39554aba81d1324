import { assertIssues, ccnp, cnp } from "./_testing.ts";

Deno.test("parseManifest() rejects unsupported and invalid Cilium policies", async (t) => {
  const e = (rules: unknown[]) => cnp({ endpointSelector: {}, egress: rules });
  const i = (rules: unknown[]) => cnp({ endpointSelector: {}, ingress: rules });
  const MESH = "needs the mesh plugin (plugins/mesh), which is not available yet";
  const cases: Array<[string, unknown, string, string]> = [
    [
      "toFQDNs",
      e([{ toFQDNs: [{ matchName: "example.com" }] }]),
      "spec.egress[0].toFQDNs",
      `Unsupported field "toFQDNs": DNS-based policy is not supported yet`,
    ],
    [
      "toServices",
      e([{ toServices: [{ k8sService: { serviceName: "db" } }] }]),
      "spec.egress[0].toServices",
      `Unsupported field "toServices": service-based policy needs the load-balancing plugin ` +
      "(plugins/lb, issue 5)",
    ],
    [
      "L7 rules",
      i([{ toPorts: [{ ports: [{ port: "80" }], rules: { http: [{ method: "GET" }] } }] }]),
      "spec.ingress[0].toPorts[0].rules",
      `Unsupported field "rules": L7 rules ${MESH}`,
    ],
    [
      "an Envoy listener",
      e([{ toPorts: [{ ports: [{ port: "80" }], listener: { name: "l" } }] }]),
      "spec.egress[0].toPorts[0].listener",
      `Unsupported field "listener": Envoy listeners ${MESH}`,
    ],
    [
      "TLS server names",
      e([{ toPorts: [{ ports: [{ port: "443" }], serverNames: ["a.example"] }] }]),
      "spec.egress[0].toPorts[0].serverNames",
      `Unsupported field "serverNames": TLS server name matching ${MESH}`,
    ],
    [
      "mutual authentication",
      i([{ fromEndpoints: [{}], authentication: { mode: "required" } }]),
      "spec.ingress[0].authentication",
      `Unsupported field "authentication": mutual authentication is not supported`,
    ],
    [
      "toGroups",
      e([{ toGroups: [{ aws: {} }] }]),
      "spec.egress[0].toGroups",
      `Unsupported field "toGroups": cloud provider groups are not supported`,
    ],
    [
      "fromNodes",
      i([{ fromNodes: [{}] }]),
      "spec.ingress[0].fromNodes",
      `Unsupported field "fromNodes": node selectors are not supported yet: use the "host" or ` +
      `"remote-node" entity`,
    ],
    [
      "policy logging",
      cnp({ endpointSelector: {}, ingress: [{}], log: { value: "x" } }),
      "spec.log",
      `Unsupported field "log": policy logging is not supported yet`,
    ],
    [
      "a host policy",
      ccnp({ nodeSelector: {}, ingress: [{}] }),
      "spec.nodeSelector",
      `Unsupported field "nodeSelector": host policies (nodeSelector) are not supported yet`,
    ],
    [
      "nodeSelector in a namespaced policy",
      cnp({ nodeSelector: {}, ingress: [{}] }),
      "spec.nodeSelector",
      `Unsupported field "nodeSelector": only a CiliumClusterwideNetworkPolicy may select ` +
      "nodes, and host policies (nodeSelector) are not supported yet",
    ],
    [
      "L7 fields in a deny rule are not part of its schema",
      cnp({
        endpointSelector: {},
        ingressDeny: [{ toPorts: [{ ports: [{ port: "80" }], rules: {} }] }],
      }),
      "spec.ingressDeny[0].toPorts[0].rules",
      `Unknown field "rules"`,
    ],
    [
      "a misspelt peer field",
      i([{ fromEndpoint: [{}] }]),
      "spec.ingress[0].fromEndpoint",
      `Unknown field "fromEndpoint" (did you mean "fromEndpoints"?)`,
    ],
    [
      "an endpointSelector for another namespace",
      cnp({
        endpointSelector: { matchLabels: { "k8s:io.kubernetes.pod.namespace": "other" } },
        ingress: [{}],
      }),
      "spec.endpointSelector",
      `Selects no endpoints: a CiliumNetworkPolicy's endpointSelector only applies in its own ` +
      `namespace "shop" (use a CiliumClusterwideNetworkPolicy for others)`,
    ],
    [
      "no endpointSelector",
      cnp({ ingress: [{}] }),
      "spec.endpointSelector",
      `Field "endpointSelector" is required`,
    ],
    ["neither spec nor specs", cnp(undefined), "spec", `Field "spec" or "specs" is required`],
    [
      "an empty specs list",
      { ...cnp(undefined), specs: [] },
      "specs",
      "Must list at least one rule",
    ],
    [
      "a rule without rules",
      cnp({ endpointSelector: {}, ingress: [] }),
      "spec",
      "Rule has no ingress, ingressDeny, egress or egressDeny rules: it would have no effect",
    ],
    [
      "enableDefaultDeny that is not a boolean",
      cnp({ endpointSelector: {}, ingress: [{}], enableDefaultDeny: { ingress: "yes" } }),
      "spec.enableDefaultDeny.ingress",
      `Must be true or false, got the string "yes"`,
    ],
    [
      "a namespace on a cluster-wide policy",
      ccnp({ endpointSelector: {}, ingress: [{}] }, { name: "p", namespace: "shop" }),
      "metadata.namespace",
      "CiliumClusterwideNetworkPolicy is cluster-wide: remove metadata.namespace",
    ],
  ];
  for (const [name, doc, path, message] of cases) {
    await t.step(name, () => assertIssues(doc, { path, message }));
  }
});
