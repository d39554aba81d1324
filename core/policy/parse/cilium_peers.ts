// The peers of a Cilium rule: endpoint selectors with Cilium's namespace scoping, entities,
// CIDRs and CIDR sets (inline or a CiliumCIDRGroup reference).
//
// Scoping of fromEndpoints/toEndpoints and of fromRequires/toRequires, as Cilium's
// ParseToCiliumRule does it:
// - a selector naming the namespace (`k8s:io.kubernetes.pod.namespace`, any operator) is kept;
// - fromEndpoints/toEndpoints naming a reserved identity (`reserved:host`) are kept;
// - in a CiliumNetworkPolicy, a selector on namespace labels
//   (`k8s:io.cilium.k8s.namespace.labels.*`) is kept, any other gets `namespace In [<policy ns>]`
//   (so `{}` means "every endpoint of this namespace");
// - in a CiliumClusterwideNetworkPolicy it gets `namespace Exists` (`{}` means "every pod in the
//   cluster", never reserved identities), except when the policy's subject selects
//   `reserved:init` endpoints, which have no namespace label yet.
import { ENTITIES, type Entity, type Peer, type Selector } from "../model.ts";
import { parseCidrField, parseExcept } from "./cidr.ts";
import { child, type Issues, oneOf, quote } from "./issues.ts";
import { subdomainProblem } from "./names.ts";
import { asObject, asString, checkFields, field } from "./read.ts";
import {
  ANY_NAMESPACE,
  hasKey,
  hasKeyPrefix,
  inNamespace,
  NAMESPACE_KEY,
  NAMESPACE_LABELS_KEY_PREFIX,
  withRequirement,
} from "./selector.ts";

export interface Scope {
  /** The CiliumNetworkPolicy's namespace; undefined for a cluster-wide policy. */
  namespace?: string;
  /** The policy's subject selects `reserved:init` endpoints. */
  subjectMatchesInit: boolean;
}

/** A peer (or, with `requires`, a fromRequires/toRequires) selector scoped as described above. */
export function scopeSelector(sel: Selector, scope: Scope, requires: boolean): Selector {
  if (!requires && hasKeyPrefix(sel, "reserved:")) return sel;
  if (hasKey(sel, NAMESPACE_KEY)) return sel;
  if (scope.namespace === undefined) {
    return scope.subjectMatchesInit ? sel : withRequirement(sel, ANY_NAMESPACE);
  }
  if (hasKeyPrefix(sel, NAMESPACE_LABELS_KEY_PREFIX)) return sel;
  return withRequirement(sel, inNamespace(scope.namespace));
}

export function parseEntity(v: unknown, path: string, issues: Issues): Peer | undefined {
  const text = asString(v, path, issues);
  if (text === undefined) return undefined;
  if ((ENTITIES as readonly string[]).includes(text)) {
    return { kind: "entity", entity: text as Entity };
  }
  if (text === "ingress") {
    issues.add(
      path,
      `Entity "ingress" (Cilium's L7 ingress proxy) needs the mesh plugin (plugins/mesh), ` +
        "which is not available yet",
    );
  } else issues.add(path, `Unknown entity ${quote(text)}: must be one of ${oneOf(ENTITIES)}`);
  return undefined;
}

/** A fromCIDR/toCIDR element: a CIDR, or a bare address meaning that one host. */
export function parseCidrPeer(v: unknown, path: string, issues: Issues): Peer | undefined {
  const cidr = parseCidrField(v, path, issues, { bareIp: true });
  return cidr && { kind: "cidr", cidr: cidr.toString(), except: [] };
}

/**
 * A fromCIDRSet/toCIDRSet element: exactly one of `cidr` and `cidrGroupRef`, with optional
 * `except`. Unlike a Kubernetes ipBlock, an exception may equal the cidr (Cilium only requires
 * containment). Exceptions of a group reference are checked when policy is computed.
 */
export function parseCidrSetPeer(v: unknown, path: string, issues: Issues): Peer | undefined {
  const o = asObject(v, path, issues);
  if (!o) return undefined;
  const before = issues.count;
  checkFields(o, path, issues, ["cidr", "cidrGroupRef", "except"], {
    cidrGroupSelector: `selecting CIDR groups by label is not supported yet: name the group ` +
      `with "cidrGroupRef"`,
  });
  const cidrV = field(o, "cidr");
  const groupV = field(o, "cidrGroupRef");
  if (cidrV === undefined && groupV === undefined && field(o, "cidrGroupSelector") === undefined) {
    issues.add(path, `Must set "cidr" or "cidrGroupRef"`);
  }
  if (cidrV !== undefined && groupV !== undefined) {
    issues.add(path, `Set only one of "cidr" and "cidrGroupRef"`);
  }
  const cidr = cidrV === undefined ? undefined : parseCidrField(cidrV, child(path, "cidr"), issues);
  const groupPath = child(path, "cidrGroupRef");
  const group = groupV === undefined ? undefined : asString(groupV, groupPath, issues);
  const groupProblem = group === undefined ? undefined : subdomainProblem(group);
  if (groupProblem) {
    issues.add(groupPath, `Invalid CIDR group name ${quote(group)}: ${groupProblem}`);
  }
  const exceptV = field(o, "except");
  const within = cidr && { cidr, written: String(cidrV) };
  const except = exceptV === undefined
    ? []
    : parseExcept(exceptV, child(path, "except"), issues, within, false);
  if (issues.count !== before || !except) return undefined;
  if (cidr) return { kind: "cidr", cidr: cidr.toString(), except };
  return group === undefined ? undefined : { kind: "cidrGroup", group, except };
}
