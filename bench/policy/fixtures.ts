// A synthetic cluster for the policy benchmarks: identities with realistic label sets (app,
// tier, team, namespace) and a mix of rules (label selectors, namespace selectors, CIDRs, named
// and numbered ports, ranges, deny rules), generated deterministically.
import {
  FIRST_WORKLOAD_IDENTITY,
  type IdentityView,
  reservedIdentities,
} from "../../core/policy/identities.ts";
import type { Peer, Policy, PolicyRule, Selector } from "../../core/policy/model.ts";

const NAMESPACES = 20;
const APPS = 50;

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function identity(i: number): IdentityView {
  return {
    id: FIRST_WORKLOAD_IDENTITY + i,
    labels: {
      "k8s:app": `app${i % APPS}`,
      "k8s:tier": ["web", "api", "db", "cache"][i % 4]!,
      "k8s:version": `v${i % 7}`,
      "k8s:io.kubernetes.pod.namespace": `ns${i % NAMESPACES}`,
      [`k8s:io.cilium.k8s.namespace.labels.team`]: `team${(i % NAMESPACES) % 5}`,
      "k8s:io.cilium.k8s.policy.cluster": "bench",
      "k8s:io.cilium.k8s.policy.serviceaccount": "default",
    },
  };
}

export function identities(n: number): IdentityView[] {
  return [...reservedIdentities(), ...Array.from({ length: n }, (_, i) => identity(i))];
}

const eq = (key: string, value: string): Selector => ({
  requirements: [{ key, operator: "In", values: [value] }],
});

export function policies(n: number, seed = 1): Policy[] {
  const r = prng(seed);
  const pick = (k: number) => Math.floor(r() * k);
  const out: Policy[] = [];
  for (let i = 0; i < n; i++) {
    const ns = `ns${pick(NAMESPACES)}`;
    const peer = (): Peer => {
      switch (pick(5)) {
        case 0:
          return { kind: "endpoints", selector: eq("k8s:app", `app${pick(APPS)}`) };
        case 1:
          return {
            kind: "endpoints",
            selector: {
              requirements: [
                {
                  key: "k8s:io.cilium.k8s.namespace.labels.team",
                  operator: "In",
                  values: [`team${pick(5)}`],
                },
                { key: "k8s:tier", operator: "In", values: ["web", "api"] },
              ],
            },
          };
        case 2:
          return {
            kind: "cidr",
            cidr: `10.${pick(200)}.0.0/16`,
            except: [`10.${pick(200)}.1.0/24`],
          };
        case 3:
          return { kind: "entity", entity: "world" };
        default:
          return { kind: "endpoints", selector: eq("k8s:io.kubernetes.pod.namespace", ns) };
      }
    };
    const l4 = (): PolicyRule["l4"] => {
      switch (pick(4)) {
        case 0:
          return [];
        case 1:
          return [{ kind: "port", protocol: "TCP", port: 8000 + pick(100) }];
        case 2:
          return [{ kind: "port", protocol: "TCP", port: 30000, endPort: 30000 + pick(500) }];
        default:
          return [{ kind: "port", protocol: "ANY", port: 53 }, {
            kind: "named",
            protocol: "TCP",
            name: "http",
          }];
      }
    };
    const rules: PolicyRule[] = [];
    for (let j = 0; j < 2; j++) {
      const direction = j === 0 ? "ingress" as const : "egress" as const;
      const deny = pick(10) === 0;
      rules.push({
        ref: {
          kind: "CiliumNetworkPolicy",
          namespace: ns,
          name: `p${i}`,
          spec: 0,
          section: deny ? `${direction}Deny` : direction,
          index: 0,
        },
        direction,
        action: deny ? "deny" : "allow",
        peers: [peer(), peer()],
        l4: l4(),
        requires: [],
      });
    }
    out.push({
      ref: { kind: "CiliumNetworkPolicy", namespace: ns, name: `p${i}`, spec: 0 },
      subject: {
        requirements: [
          { key: "k8s:io.kubernetes.pod.namespace", operator: "In", values: [ns] },
          { key: "k8s:app", operator: "In", values: [`app${pick(APPS)}`] },
        ],
      },
      isolates: { ingress: true, egress: true },
      rules,
      audit: false,
    });
  }
  return out;
}
