import assert from "node:assert/strict";
import type { Policy, PolicyRef, PolicyRule, RuleRef } from "../model.ts";
import { anyNs, ccnp, cnp, eq, inNs, policiesOf, policyOf, sel } from "./_testing.ts";

const CNP: PolicyRef = { kind: "CiliumNetworkPolicy", namespace: "shop", name: "p", spec: 0 };
const CCNP: PolicyRef = { kind: "CiliumClusterwideNetworkPolicy", name: "p", spec: 0 };

function rule(ref: PolicyRef, section: RuleRef["section"], r: Partial<PolicyRule>): PolicyRule {
  return {
    ref: { ...ref, section, index: 0 },
    direction: section.startsWith("ingress") ? "ingress" : "egress",
    action: section.endsWith("Deny") ? "deny" : "allow",
    peers: [{ kind: "any" }],
    l4: [],
    requires: [],
    ...r,
  };
}

function policy(ref: PolicyRef, p: Partial<Policy>): Policy {
  return {
    ref,
    subject: ref.namespace ? sel(inNs(ref.namespace)) : sel(),
    isolates: { ingress: true, egress: false },
    rules: [],
    audit: false,
    ...p,
  };
}

const myService = { matchLabels: { app: "myService" } };
const myServiceSubject = sel(eq("k8s:app", "myService"), inNs("shop"));

Deno.test("parseManifest() normalises Cilium documentation examples", async (t) => {
  const cases: Array<[string, unknown, Policy]> = [
    [
      "L3 label-based: frontend may reach backend",
      cnp({
        endpointSelector: { matchLabels: { role: "backend" } },
        ingress: [{ fromEndpoints: [{ matchLabels: { role: "frontend" } }] }],
      }),
      policy(CNP, {
        subject: sel(eq("k8s:role", "backend"), inNs("shop")),
        rules: [rule(CNP, "ingress", {
          peers: [{ kind: "endpoints", selector: sel(eq("k8s:role", "frontend"), inNs("shop")) }],
        })],
      }),
    ],
    [
      "ingress from all endpoints: {} is every endpoint of the policy's namespace",
      cnp({
        endpointSelector: { matchLabels: { role: "victim" } },
        ingress: [{ fromEndpoints: [{}] }],
      }),
      policy(CNP, {
        subject: sel(eq("k8s:role", "victim"), inNs("shop")),
        rules: [
          rule(CNP, "ingress", { peers: [{ kind: "endpoints", selector: sel(inNs("shop")) }] }),
        ],
      }),
    ],
    [
      "cluster-wide: {} is every pod of the cluster",
      ccnp({ endpointSelector: {}, egress: [{ toEndpoints: [{}] }] }),
      policy(CCNP, {
        isolates: { ingress: false, egress: true },
        rules: [rule(CCNP, "egress", { peers: [{ kind: "endpoints", selector: sel(anyNs) }] })],
      }),
    ],
    [
      "egress default deny: an empty rule allows nothing but isolates",
      cnp({ endpointSelector: { matchLabels: { role: "restricted" } }, egress: [{}] }),
      policy(CNP, {
        subject: sel(eq("k8s:role", "restricted"), inNs("shop")),
        isolates: { ingress: false, egress: true },
      }),
    ],
    [
      "deny policy: lock out the world, allow everything else",
      ccnp({
        endpointSelector: {},
        ingressDeny: [{ fromEntities: ["world"] }],
        ingress: [{ fromEntities: ["all"] }],
      }),
      policy(CCNP, {
        rules: [
          rule(CCNP, "ingress", { peers: [{ kind: "entity", entity: "all" }] }),
          rule(CCNP, "ingressDeny", { peers: [{ kind: "entity", entity: "world" }] }),
        ],
      }),
    ],
    [
      "entity-based: reach the kube-apiserver",
      cnp({
        endpointSelector: { matchLabels: { env: "dev" } },
        egress: [{ toEntities: ["kube-apiserver"] }],
      }),
      policy(CNP, {
        subject: sel(eq("k8s:env", "dev"), inNs("shop")),
        isolates: { ingress: false, egress: true },
        rules: [rule(CNP, "egress", { peers: [{ kind: "entity", entity: "kube-apiserver" }] })],
      }),
    ],
    [
      "CIDR-based: one host and a block minus a hole",
      cnp({
        endpointSelector: myService,
        egress: [
          { toCIDR: ["20.1.1.1/32"] },
          { toCIDRSet: [{ cidr: "10.0.0.0/8", except: ["10.96.0.0/12"] }] },
        ],
      }),
      policy(CNP, {
        subject: myServiceSubject,
        isolates: { ingress: false, egress: true },
        rules: [
          rule(CNP, "egress", { peers: [{ kind: "cidr", cidr: "20.1.1.1/32", except: [] }] }),
          {
            ...rule(CNP, "egress", {
              peers: [{ kind: "cidr", cidr: "10.0.0.0/8", except: ["10.96.0.0/12"] }],
            }),
            ref: { ...CNP, section: "egress", index: 1 },
          },
        ],
      }),
    ],
    [
      "L4 only: port 80/TCP to anybody",
      cnp({
        endpointSelector: myService,
        egress: [{ toPorts: [{ ports: [{ port: "80", protocol: "TCP" }] }] }],
      }),
      policy(CNP, {
        subject: myServiceSubject,
        isolates: { ingress: false, egress: true },
        rules: [rule(CNP, "egress", { l4: [{ kind: "port", protocol: "TCP", port: 80 }] })],
      }),
    ],
    [
      "ICMP: echo requests over IPv4 and IPv6",
      cnp({
        endpointSelector: myService,
        egress: [{
          icmps: [{
            fields: [{ type: 8, family: "IPv4" }, { type: "EchoRequest", family: "IPv6" }],
          }],
        }],
      }),
      policy(CNP, {
        subject: myServiceSubject,
        isolates: { ingress: false, egress: true },
        rules: [rule(CNP, "egress", {
          l4: [{ kind: "icmp", family: 4, type: 8 }, { kind: "icmp", family: 6, type: 128 }],
        })],
      }),
    ],
    [
      "requires: prod only from prod (records the requirement, allows nothing itself)",
      cnp({
        endpointSelector: { matchLabels: { env: "prod" } },
        ingress: [{ fromRequires: [{ matchLabels: { env: "prod" } }] }],
      }),
      policy(CNP, {
        subject: sel(eq("k8s:env", "prod"), inNs("shop")),
        rules: [rule(CNP, "ingress", {
          peers: [],
          requires: [sel(eq("k8s:env", "prod"), inNs("shop"))],
        })],
      }),
    ],
  ];
  for (const [name, doc, want] of cases) {
    await t.step(name, () => assert.deepEqual(policyOf(doc), want));
  }
});

Deno.test("parseManifest() applies Cilium policy-level semantics", async (t) => {
  // Rules that allow nothing (`{}`), so only isolation and the subject are compared.
  const allowsNothing = [{}];
  const cases: Array<[string, unknown, Partial<Policy>]> = [
    [
      "enableDefaultDeny.ingress false keeps ingress open despite ingress rules",
      cnp({ endpointSelector: {}, ingress: allowsNothing, enableDefaultDeny: { ingress: false } }),
      { isolates: { ingress: false, egress: false } },
    ],
    [
      "enableDefaultDeny.egress true isolates egress without egress rules",
      cnp({ endpointSelector: {}, ingress: allowsNothing, enableDefaultDeny: { egress: true } }),
      { isolates: { ingress: true, egress: true } },
    ],
    [
      "deny rules alone isolate their direction",
      cnp({ endpointSelector: {}, egressDeny: [{}] }),
      { isolates: { ingress: false, egress: true } },
    ],
    [
      "an empty ingress list does not isolate ingress",
      cnp({ endpointSelector: {}, ingress: [], egress: [{}] }),
      { isolates: { ingress: false, egress: true } },
    ],
    [
      "a namespace match for the policy's own namespace is accepted",
      cnp({
        endpointSelector: { matchLabels: { "k8s:io.kubernetes.pod.namespace": "shop" } },
        ingress: [{}],
      }),
      {},
    ],
    [
      "`any:` and unprefixed keys are k8s labels",
      cnp({ endpointSelector: { matchLabels: { "any:app": "a", tier: "b" } }, ingress: [{}] }),
      { subject: sel(eq("k8s:app", "a"), eq("k8s:tier", "b"), inNs("shop")) },
    ],
    [
      "the audit annotation",
      cnp({ endpointSelector: {}, ingress: [{}] }, {
        name: "p",
        namespace: "shop",
        annotations: { "policy.hypha.dev/audit": "true" },
      }),
      { audit: true },
    ],
  ];
  for (const [name, doc, want] of cases) {
    await t.step(name, () => assert.deepEqual(policyOf(doc), policy(CNP, { ...want })));
  }
});

Deno.test("parseManifest() numbers spec then specs, each rule its own Policy", () => {
  const r = { endpointSelector: {}, ingress: [{}] };
  const both = { ...cnp(r), specs: [r, r] };
  assert.deepEqual(policiesOf(both).map((p) => [p.ref.spec, p.rules.length]), [[0, 0], [1, 0], [
    2,
    0,
  ]]);
  const specsOnly = { ...ccnp(undefined), specs: [r, { ...r, egress: [{}] }] };
  assert.deepEqual(policiesOf(specsOnly).map((p) => [p.ref, p.isolates.egress]), [
    [CCNP, false],
    [{ ...CCNP, spec: 1 }, true],
  ]);
});
