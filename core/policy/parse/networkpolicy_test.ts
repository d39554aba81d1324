import assert from "node:assert/strict";
import type { Policy, PolicyRule, RuleRef } from "../model.ts";
import { anyNs, eq, inNs, np, policyOf, req, sel } from "./_testing.ts";

const ref = { kind: "NetworkPolicy", namespace: "shop", name: "p", spec: 0 } as const;
const rref = (section: "ingress" | "egress", index: number): RuleRef => ({
  ...ref,
  section,
  index,
});
const allowAll = (section: "ingress" | "egress", index = 0): PolicyRule => ({
  ref: rref(section, index),
  direction: section,
  action: "allow",
  peers: [{ kind: "any" }],
  l4: [],
  requires: [],
});
const policy = (p: Partial<Policy>): Policy => ({
  ref,
  subject: sel(inNs("shop")),
  isolates: { ingress: true, egress: false },
  rules: [],
  audit: false,
  ...p,
});

Deno.test("parseManifest() normalises Kubernetes NetworkPolicy documentation examples", async (t) => {
  const cases: Array<[string, unknown, Policy]> = [
    [
      "default deny all ingress",
      np({ podSelector: {}, policyTypes: ["Ingress"] }),
      policy({}),
    ],
    [
      "allow all ingress",
      np({ podSelector: {}, ingress: [{}], policyTypes: ["Ingress"] }),
      policy({ rules: [allowAll("ingress")] }),
    ],
    [
      "default deny all egress",
      np({ podSelector: {}, policyTypes: ["Egress"] }),
      policy({ isolates: { ingress: false, egress: true } }),
    ],
    [
      "allow all egress",
      np({ podSelector: {}, egress: [{}], policyTypes: ["Egress"] }),
      policy({ isolates: { ingress: false, egress: true }, rules: [allowAll("egress")] }),
    ],
    [
      "default deny all ingress and all egress",
      np({ podSelector: {}, policyTypes: ["Ingress", "Egress"] }),
      policy({ isolates: { ingress: true, egress: true } }),
    ],
    [
      "ipBlock, namespaceSelector and podSelector peers with ports (test-network-policy)",
      np({
        podSelector: { matchLabels: { role: "ledger" } },
        policyTypes: ["Ingress", "Egress"],
        ingress: [{
          from: [
            { ipBlock: { cidr: "172.20.0.0/16", except: ["172.20.9.0/24"] } },
            { namespaceSelector: { matchLabels: { tenant: "acme" } } },
            { podSelector: { matchLabels: { role: "api" } } },
          ],
          ports: [{ protocol: "TCP", port: 5432 }],
        }],
        egress: [{
          to: [{ ipBlock: { cidr: "192.168.50.0/24" } }],
          ports: [{ protocol: "TCP", port: 8200 }],
        }],
      }),
      policy({
        subject: sel(eq("k8s:role", "ledger"), inNs("shop")),
        isolates: { ingress: true, egress: true },
        rules: [{
          ...allowAll("ingress"),
          peers: [
            { kind: "cidr", cidr: "172.20.0.0/16", except: ["172.20.9.0/24"] },
            {
              kind: "endpoints",
              selector: sel(eq("k8s:io.cilium.k8s.namespace.labels.tenant", "acme"), anyNs),
            },
            { kind: "endpoints", selector: sel(eq("k8s:role", "api"), inNs("shop")) },
          ],
          l4: [{ kind: "port", protocol: "TCP", port: 5432 }],
        }, {
          ...allowAll("egress"),
          peers: [{ kind: "cidr", cidr: "192.168.50.0/24", except: [] }],
          l4: [{ kind: "port", protocol: "TCP", port: 8200 }],
        }],
      }),
    ],
    [
      "a port range with endPort",
      np({
        podSelector: { matchLabels: { app: "batch" } },
        policyTypes: ["Egress"],
        egress: [{
          to: [{ ipBlock: { cidr: "10.20.0.0/16" } }],
          ports: [{ protocol: "TCP", port: 30000, endPort: 30100 }],
        }],
      }),
      policy({
        subject: sel(eq("k8s:app", "batch"), inNs("shop")),
        isolates: { ingress: false, egress: true },
        rules: [{
          ...allowAll("egress"),
          peers: [{ kind: "cidr", cidr: "10.20.0.0/16", except: [] }],
          l4: [{ kind: "port", protocol: "TCP", port: 30000, endPort: 30100 }],
        }],
      }),
    ],
  ];
  for (const [name, doc, want] of cases) {
    await t.step(name, () => assert.deepEqual(policyOf(doc), want));
  }
});

Deno.test("parseManifest() applies NetworkPolicy defaults and peer semantics", async (t) => {
  const cases: Array<[string, unknown, Partial<Policy>]> = [
    [
      "policyTypes absent: Ingress, plus Egress because spec.egress is present",
      np({ podSelector: {}, egress: [] }),
      { isolates: { ingress: true, egress: true } },
    ],
    [
      "policyTypes absent without spec.egress: Ingress only",
      np({ podSelector: {}, ingress: [{ from: [] }] }),
      { rules: [allowAll("ingress")] },
    ],
    [
      "podSelector absent selects every pod of the namespace",
      np({ policyTypes: [] }),
      {},
    ],
    [
      'metadata.namespace absent means "default"',
      np({ podSelector: {} }, { name: "p" }),
      { ref: { ...ref, namespace: "default" }, subject: sel(inNs("default")) },
    ],
    [
      "namespaceSelector and podSelector in one peer select pods matching both",
      np({
        podSelector: {},
        ingress: [{
          from: [{
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ops" } },
            podSelector: {
              matchExpressions: [{ key: "tier", operator: "In", values: ["b", "a", "b"] }],
            },
          }],
        }],
      }),
      {
        rules: [{
          ...allowAll("ingress"),
          peers: [{
            kind: "endpoints",
            selector: sel(inNs("ops"), req("k8s:tier", "In", "a", "b")),
          }],
        }],
      },
    ],
    [
      "an empty namespaceSelector selects every pod of every namespace",
      np({ podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }] }] }),
      { rules: [{ ...allowAll("ingress"), peers: [{ kind: "endpoints", selector: sel(anyNs) }] }] },
    ],
    [
      "named ports, UDP and SCTP, and a port-less entry (every port of the protocol)",
      np({
        podSelector: {},
        ingress: [{
          ports: [{ port: "metrics" }, { protocol: "UDP" }, { protocol: "SCTP", port: 9 }],
        }],
      }),
      {
        rules: [{
          ...allowAll("ingress"),
          l4: [
            { kind: "named", protocol: "TCP", name: "metrics" },
            { kind: "port", protocol: "UDP", port: 0 },
            { kind: "port", protocol: "SCTP", port: 9 },
          ],
        }],
      },
    ],
    [
      "a host CIDR with host bits normalised, endPort equal to port is one port",
      np({
        podSelector: {},
        egress: [{
          to: [{ ipBlock: { cidr: "10.1.2.3/24" } }],
          ports: [{ port: 53, endPort: 53, protocol: "UDP" }],
        }],
        policyTypes: ["Egress"],
      }),
      {
        isolates: { ingress: false, egress: true },
        rules: [{
          ...allowAll("egress"),
          peers: [{ kind: "cidr", cidr: "10.1.2.0/24", except: [] }],
          l4: [{ kind: "port", protocol: "UDP", port: 53 }],
        }],
      },
    ],
    [
      "the audit annotation",
      np({ podSelector: {} }, {
        name: "p",
        namespace: "shop",
        annotations: { "policy.hypha.dev/audit": "true" },
      }),
      { audit: true },
    ],
  ];
  for (const [name, doc, want] of cases) {
    await t.step(name, () => assert.deepEqual(policyOf(doc), policy(want)));
  }
});
