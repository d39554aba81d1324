// core/policy/parse: Kubernetes NetworkPolicy, CiliumNetworkPolicy,
// CiliumClusterwideNetworkPolicy and CiliumCIDRGroup manifests checked and normalised into the
// policy model (../model.ts). Pure: no I/O, no clock, never throws for bad input.
//
// Contract:
// - Every problem of a manifest is reported, each at a field path prefixed by `opts.path`
//   (`policy.yaml[2].spec.ingress[0].from[1].ipBlock.except[0]`; the empty path is the document).
// - A manifest with any issue contributes nothing (all or nothing per manifest), so a typo never
//   half-applies a policy.
// - Fields hypha does not implement (L7 rules, toFQDNs, toServices, host policies, ...) are
//   rejected with the reason, never ignored; unknown fields are rejected like a strict schema.
// - The annotation `policy.hypha.dev/audit: "true"` on a policy sets Policy.audit: its verdicts
//   are reported, not enforced ("false" or absent: enforced).
// - A `kind: List` (as `kubectl get -o yaml` prints) is read as its items.
import YAML from "yaml";
import type { CidrGroup, Policy, PolicyIssue } from "../model.ts";
import { parseCidrGroup } from "./cidr_group.ts";
import { parseCiliumPolicy } from "./cilium.ts";
import { child, Issues, item } from "./issues.ts";
import { readIdentity, readKind, readMetadata } from "./metadata.ts";
import { parseNetworkPolicy } from "./networkpolicy.ts";
import { asList, field, isObject } from "./read.ts";

export { AUDIT_ANNOTATION, DEFAULT_NAMESPACE, KINDS } from "./metadata.ts";

export interface ParseResult {
  policies: Policy[];
  cidrGroups: CidrGroup[];
  issues: PolicyIssue[];
}

/** One manifest object (already YAML/JSON-decoded). */
export function parseManifest(doc: unknown, opts: { path?: string } = {}): ParseResult {
  const path = opts.path ?? "";
  if (isObject(doc) && doc.kind === "List" && doc.apiVersion === "v1") return parseList(doc, path);
  const issues = new Issues();
  const result: ParseResult = { policies: [], cidrGroups: [], issues: issues.list };
  const head = readKind(doc, path, issues);
  if (!head) return result;
  const { info, obj } = head;
  // Checked before the spec, but the spec is checked even when metadata is wrong: every
  // problem is reported at once.
  const meta = readMetadata(obj, info, path, issues);
  switch (info.kind) {
    case "NetworkPolicy": {
      const policy = parseNetworkPolicy(obj, meta, path, issues);
      if (policy && issues.count === 0) result.policies.push(policy);
      break;
    }
    case "CiliumNetworkPolicy":
    case "CiliumClusterwideNetworkPolicy": {
      const policies = parseCiliumPolicy(obj, info, meta, path, issues);
      if (policies && issues.count === 0) result.policies.push(...policies);
      break;
    }
    case "CiliumCIDRGroup": {
      const group = parseCidrGroup(obj, meta, path, issues);
      if (group && issues.count === 0) result.cidrGroups.push(group);
      break;
    }
  }
  return result;
}

function parseList(doc: Record<string, unknown>, path: string): ParseResult {
  const out: ParseResult = { policies: [], cidrGroups: [], issues: [] };
  const issues = new Issues();
  const items = asList(field(doc, "items") ?? [], child(path, "items"), issues) ?? [];
  out.issues.push(...issues.list);
  items.forEach((x, i) => merge(out, parseManifest(x, { path: item(child(path, "items"), i) })));
  return out;
}

/** Every document of a multi-document YAML (or JSON) text; paths start with `<file>[<index>]`. */
export function parseManifestText(text: string, file: string): ParseResult {
  const out: ParseResult = { policies: [], cidrGroups: [], issues: [] };
  YAML.parseAllDocuments(text).forEach((doc, i) => {
    const path = item(file, i);
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        // The first line has the reason and position; a source excerpt follows it.
        const reason = e.message.split("\n")[0]!.replace(/:$/, "");
        out.issues.push({ path, message: `Invalid YAML: ${reason}` });
      }
      return;
    }
    const value: unknown = doc.toJS();
    // Empty documents (a stray `---`, comments only) are not manifests.
    if (value === null || value === undefined) return;
    merge(out, parseManifest(value, { path }));
  });
  return out;
}

/** The kind/namespace/name key of a manifest (for apply and delete), or the first issue. */
export function manifestKey(
  doc: unknown,
): { kind: string; namespace?: string; name: string } | PolicyIssue {
  const issues = new Issues();
  const head = readKind(doc, "", issues);
  const identity = head && readIdentity(head.obj, head.info, "", issues);
  if (!head || !identity) return issues.list[0]!;
  return identity.namespace === undefined
    ? { kind: head.info.kind, name: identity.name }
    : { kind: head.info.kind, namespace: identity.namespace, name: identity.name };
}

function merge(into: ParseResult, from: ParseResult): void {
  into.policies.push(...from.policies);
  into.cidrGroups.push(...from.cidrGroups);
  into.issues.push(...from.issues);
}
