// The policy model every source (Kubernetes NetworkPolicy, CiliumNetworkPolicy,
// CiliumClusterwideNetworkPolicy) is parsed into. It is pure data, already normalised: namespace
// scoping is folded into selectors, label keys carry their source prefix, every default
// ("empty means all", implied policyTypes, enableDefaultDeny) is made explicit, so the engine
// (compute.ts) never needs to know which manifest kind a rule came from.
//
// Label keys are identity label keys (core/identity/labels.ts): pod labels as `k8s:<key>`,
// namespace labels as `k8s:io.cilium.k8s.namespace.labels.<key>`, the namespace as
// `k8s:io.kubernetes.pod.namespace`, the cluster as `k8s:io.cilium.k8s.policy.cluster`, the
// service account as `k8s:io.cilium.k8s.policy.serviceaccount`, and reserved identities as
// `reserved:<name>` (e.g. `reserved:host`).

export type Direction = "ingress" | "egress";

export const PROTOCOLS = ["TCP", "UDP", "SCTP", "ICMP", "ICMPv6", "ANY"] as const;
export type Protocol = typeof PROTOCOLS[number];

export const ENTITIES = [
  "all",
  "world",
  "world-ipv4",
  "world-ipv6",
  "cluster",
  "host",
  "remote-node",
  "health",
  "init",
  "unmanaged",
  "kube-apiserver",
] as const;
export type Entity = typeof ENTITIES[number];

export interface Requirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  /** Sorted; empty for Exists / DoesNotExist. */
  values: string[];
}

/** Requirements that must all hold; no requirements selects everything. */
export interface Selector {
  requirements: Requirement[];
}

/** Who is on the other side of a rule. */
export type Peer =
  /** Everybody: every identity, inside and outside the cluster. */
  | { kind: "any" }
  /** Workloads (and reserved identities) whose identity labels match. */
  | { kind: "endpoints"; selector: Selector }
  | { kind: "entity"; entity: Entity }
  /** Addresses in `cidr` but in none of `except` (outside the cluster: pods keep their own
   * identity, as in Cilium). */
  | { kind: "cidr"; cidr: string; except: string[] }
  /** The CIDRs of a CiliumCIDRGroup, looked up when policy is computed (the group may come
   * later or change). */
  | { kind: "cidrGroup"; group: string; except: string[] };

/** One protocol/port condition. Port numbers are destination ports. */
export type L4 =
  /** `port` 0 = every port of the protocol; `endPort` makes an inclusive range. */
  | { kind: "port"; protocol: Protocol; port: number; endPort?: number }
  /** A named container port, resolved against the destination workload's ports. */
  | { kind: "named"; protocol: Protocol; name: string }
  | { kind: "icmp"; family: 4 | 6; type: number };

export type PolicyKind =
  | "NetworkPolicy"
  | "CiliumNetworkPolicy"
  | "CiliumClusterwideNetworkPolicy";

export interface PolicyRef {
  kind: PolicyKind;
  /** Absent for cluster-wide policies. */
  namespace?: string;
  name: string;
  /** Index in a CiliumNetworkPolicy's `specs` (0 for `spec` and for NetworkPolicy). */
  spec: number;
}

export interface RuleRef extends PolicyRef {
  section: "ingress" | "egress" | "ingressDeny" | "egressDeny";
  /** Index of the rule within its section. */
  index: number;
}

export interface PolicyRule {
  ref: RuleRef;
  direction: Direction;
  action: "allow" | "deny";
  /** Any of these ("everybody" is [{ kind: "any" }]; empty for a rule that only carries
   * fromRequires/toRequires, which constrain the other rules). */
  peers: Peer[];
  /** Any of these; empty = every protocol and port. */
  l4: L4[];
  /**
   * fromRequires / toRequires: a peer must also match every one of these. Cilium applies the
   * requirements of any rule to every rule of that direction for the same selected endpoints;
   * the engine does that, the parser only records them where they were written.
   */
  requires: Selector[];
}

export interface Policy {
  ref: PolicyRef;
  /** The endpoints the policy applies to. */
  subject: Selector;
  /** Directions in which the selected endpoints become default-deny. */
  isolates: { ingress: boolean; egress: boolean };
  rules: PolicyRule[];
  /** Verdicts are reported, not enforced (annotation or field on the policy). */
  audit: boolean;
}

/** A CiliumCIDRGroup: named CIDRs that cidrGroupRef peers expand to. */
export interface CidrGroup {
  name: string;
  cidrs: string[];
}

/** A problem with a manifest, at a field path like `spec.ingress[0].from[1].ipBlock.cidr`. */
export interface PolicyIssue {
  path: string;
  message: string;
}
