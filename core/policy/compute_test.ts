import assert from "node:assert/strict";
import { computeEndpointPolicy, IPPROTO, type PolicyInputs, verdictFor } from "./compute.ts";
import { FIRST_LOCAL_IDENTITY, type IdentityView, reservedIdentities } from "./identities.ts";
import type { Peer, Policy, PolicyRule, Selector } from "./model.ts";

const sel = (labels: Record<string, string>): Selector => ({
  requirements: Object.entries(labels).map(([key, v]) => ({ key, operator: "In", values: [v] })),
});
const ws = (id: number, app: string, ns = "x"): IdentityView => ({
  id,
  labels: { "k8s:app": app, "k8s:io.kubernetes.pod.namespace": ns },
});
const WEB = ws(300, "web");
const DB = ws(301, "db");
const OTHER = ws(302, "other", "y");
const CIDR_8 = {
  id: FIRST_LOCAL_IDENTITY + 1,
  labels: { "cidr:10.0.0.0/8": "" },
  cidr: "10.0.0.0/8",
};
const CIDR_EX = {
  id: FIRST_LOCAL_IDENTITY + 2,
  labels: { "cidr:10.1.0.0/16": "" },
  cidr: "10.1.0.0/16",
};

let n = 0;
function rule(dir: "ingress" | "egress", peers: Peer[], l4: PolicyRule["l4"] = [], deny = false) {
  return {
    ref: {
      kind: "CiliumNetworkPolicy" as const,
      namespace: "x",
      name: "p",
      spec: 0,
      section: deny ? (`${dir}Deny` as const) : dir,
      index: n++,
    },
    direction: dir,
    action: deny ? ("deny" as const) : ("allow" as const),
    peers,
    l4,
    requires: [],
  };
}
function policy(subject: Selector, rules: PolicyRule[], audit = false): Policy {
  return {
    ref: { kind: "CiliumNetworkPolicy", namespace: "x", name: `p${n++}`, spec: 0 },
    subject,
    isolates: {
      ingress: rules.some((r) => r.direction === "ingress"),
      egress: rules.some((r) => r.direction === "egress"),
    },
    rules,
    audit,
  };
}
const inputs = (policies: Policy[], extra: Partial<PolicyInputs> = {}): PolicyInputs => ({
  policies,
  identities: [...reservedIdentities(), WEB, DB, OTHER, CIDR_8, CIDR_EX],
  cidrGroups: new Map(),
  namedPorts: (id) => id === DB.id ? [{ sql: { port: 5432, protocol: "TCP" } }] : [],
  enforcement: "default",
  audit: false,
  ...extra,
});
const subject = (i: IdentityView, namedPorts = {}) => ({
  identity: i.id,
  labels: i.labels,
  namedPorts,
});

Deno.test("computeEndpointPolicy() allows everything with one wildcard entry", () => {
  const p = computeEndpointPolicy(
    subject(DB),
    inputs([policy(sel({ "k8s:app": "db" }), [rule("ingress", [{ kind: "any" }])])]),
  );
  assert.equal(p.ingress.enforced, true);
  assert.equal(p.egress.enforced, false);
  assert.equal(p.ingress.entries.length, 1);
  assert.deepEqual(
    [p.ingress.entries[0]!.identity, p.ingress.entries[0]!.protocol],
    [0, IPPROTO.ANY],
  );
});

Deno.test("computeEndpointPolicy() keeps L4-only rules at one entry per port", () => {
  const p = computeEndpointPolicy(
    subject(DB),
    inputs([
      policy(sel({ "k8s:app": "db" }), [
        rule("ingress", [{ kind: "any" }], [{ kind: "port", protocol: "TCP", port: 5432 }]),
      ]),
    ]),
  );
  assert.equal(p.ingress.entries.length, 1);
  assert.equal(verdictFor(p.ingress, WEB.id, IPPROTO.TCP, 5432).verdict, "allowed");
  assert.equal(verdictFor(p.ingress, WEB.id, IPPROTO.TCP, 80).verdict, "denied");
  assert.equal(verdictFor(p.ingress, WEB.id, IPPROTO.UDP, 5432).verdict, "denied");
});

Deno.test("computeEndpointPolicy() selects peers by labels and lets a deny win", () => {
  const p = computeEndpointPolicy(
    subject(DB),
    inputs([
      policy(sel({ "k8s:app": "db" }), [
        rule("ingress", [{
          kind: "endpoints",
          selector: sel({ "k8s:io.kubernetes.pod.namespace": "x" }),
        }]),
        rule("ingress", [{ kind: "endpoints", selector: sel({ "k8s:app": "web" }) }], [
          { kind: "port", protocol: "TCP", port: 22 },
        ], true),
      ]),
    ]),
  );
  assert.equal(verdictFor(p.ingress, WEB.id, IPPROTO.TCP, 5432).verdict, "allowed");
  assert.equal(verdictFor(p.ingress, WEB.id, IPPROTO.TCP, 22).verdict, "denied");
  assert.equal(verdictFor(p.ingress, OTHER.id, IPPROTO.TCP, 5432).verdict, "denied");
});

Deno.test("computeEndpointPolicy() resolves named ports on the destination", () => {
  const p = computeEndpointPolicy(
    subject(WEB),
    inputs([
      policy(sel({ "k8s:app": "web" }), [
        rule("egress", [{ kind: "endpoints", selector: sel({ "k8s:app": "db" }) }], [
          { kind: "named", protocol: "TCP", name: "sql" },
        ]),
      ]),
    ]),
  );
  assert.equal(verdictFor(p.egress, DB.id, IPPROTO.TCP, 5432).verdict, "allowed");
  assert.equal(verdictFor(p.egress, DB.id, IPPROTO.TCP, 5433).verdict, "denied");
});

Deno.test("computeEndpointPolicy() matches CIDR identities, minus the excepts", () => {
  const p = computeEndpointPolicy(
    subject(WEB),
    inputs([
      policy(sel({ "k8s:app": "web" }), [
        rule("egress", [{ kind: "cidr", cidr: "10.0.0.0/8", except: ["10.1.0.0/16"] }]),
      ]),
    ]),
  );
  assert.equal(verdictFor(p.egress, CIDR_8.id, IPPROTO.TCP, 443).verdict, "allowed");
  assert.equal(verdictFor(p.egress, CIDR_EX.id, IPPROTO.TCP, 443).verdict, "denied");
  assert.equal(verdictFor(p.egress, DB.id, IPPROTO.TCP, 443).verdict, "denied", "pods keep theirs");
});

Deno.test("computeEndpointPolicy() expands entities to reserved identities", () => {
  const p = computeEndpointPolicy(
    subject(WEB),
    inputs([
      policy(sel({ "k8s:app": "web" }), [rule("egress", [{ kind: "entity", entity: "world" }])]),
    ]),
  );
  assert.equal(verdictFor(p.egress, 2, IPPROTO.TCP, 443).verdict, "allowed");
  assert.equal(verdictFor(p.egress, CIDR_8.id, IPPROTO.TCP, 443).verdict, "allowed");
  assert.equal(verdictFor(p.egress, DB.id, IPPROTO.TCP, 443).verdict, "denied");
});

Deno.test("computeEndpointPolicy() reports instead of denying in audit mode", () => {
  const pol = policy(sel({ "k8s:app": "web" }), [rule("ingress", [])], true);
  const p = computeEndpointPolicy(subject(WEB), inputs([pol]));
  assert.equal(verdictFor(p.ingress, DB.id, IPPROTO.TCP, 80).verdict, "audit");
  const never = computeEndpointPolicy(subject(WEB), inputs([pol], { enforcement: "never" }));
  assert.equal(verdictFor(never.ingress, DB.id, IPPROTO.TCP, 80).verdict, "allowed");
  const always = computeEndpointPolicy(subject(DB), inputs([], { enforcement: "always" }));
  assert.equal(verdictFor(always.ingress, WEB.id, IPPROTO.TCP, 80).verdict, "denied");
});

Deno.test("computeEndpointPolicy() applies deny rules of a direction that is not default-deny", () => {
  const deny = policy(sel({ "k8s:app": "db" }), [
    rule("ingress", [{ kind: "endpoints", selector: sel({ "k8s:app": "web" }) }], [
      { kind: "port", protocol: "TCP", port: 80 },
    ], true),
  ]);
  deny.isolates.ingress = false;
  const p = computeEndpointPolicy(subject(DB), inputs([deny]));
  assert.equal(verdictFor(p.ingress, WEB.id, IPPROTO.TCP, 80).verdict, "denied");
  assert.equal(verdictFor(p.ingress, WEB.id, IPPROTO.TCP, 81).verdict, "allowed");
  assert.equal(verdictFor(p.ingress, OTHER.id, IPPROTO.TCP, 80).verdict, "allowed");
});
