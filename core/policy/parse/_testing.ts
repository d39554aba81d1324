// Builders for the parser tests: manifests in a few lines and the expected model values.
import assert from "node:assert/strict";
import type { Policy, PolicyIssue, Requirement, Selector } from "../model.ts";
import { parseManifest, type ParseResult } from "./mod.ts";

export const NS = "k8s:io.kubernetes.pod.namespace";

export function req(key: string, operator: Requirement["operator"], ...values: string[]) {
  return { key, operator, values: values.sort() };
}

/** `key In [value]`, what a matchLabels entry becomes. */
export const eq = (key: string, value: string) => req(key, "In", value);
export const inNs = (ns: string) => eq(NS, ns);
export const anyNs = req(NS, "Exists");

/** A selector with its requirements in the parser's order (sorted by key, operator, values). */
export function sel(...reqs: Requirement[]): Selector {
  const text = (r: Requirement) => JSON.stringify([r.key, r.operator, r.values]);
  return { requirements: [...reqs].sort((a, b) => (text(a) < text(b) ? -1 : 1)) };
}

type Doc = Record<string, unknown>;

export function np(spec: unknown, metadata: Doc = { name: "p", namespace: "shop" }): Doc {
  return { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata, spec };
}

export function cnp(spec: unknown, metadata: Doc = { name: "p", namespace: "shop" }): Doc {
  return { apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", metadata, spec };
}

export function ccnp(spec: unknown, metadata: Doc = { name: "p" }): Doc {
  return { apiVersion: "cilium.io/v2", kind: "CiliumClusterwideNetworkPolicy", metadata, spec };
}

/** The policies of a manifest that must parse without issues. */
export function policiesOf(doc: unknown): Policy[] {
  const r = parseManifest(doc);
  assert.deepEqual(r.issues, [], "expected no issues");
  return r.policies;
}

/** The only policy of a manifest that must parse without issues. */
export function policyOf(doc: unknown): Policy {
  const policies = policiesOf(doc);
  assert.equal(policies.length, 1);
  return policies[0]!;
}

/** The issues of a manifest that must be rejected as a whole. */
export function issuesOf(doc: unknown): PolicyIssue[] {
  const r: ParseResult = parseManifest(doc);
  assert.notDeepEqual(r.issues, [], "expected issues");
  assert.deepEqual([r.policies, r.cidrGroups], [[], []], "a manifest with issues yields nothing");
  return r.issues;
}

/** Asserts that `doc` is rejected with exactly `expected` (path and message). */
export function assertIssues(doc: unknown, ...expected: PolicyIssue[]): void {
  assert.deepEqual(issuesOf(doc), expected);
}
