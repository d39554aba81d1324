import assert from "node:assert/strict";
import type { L4, Peer, PolicyRule, Selector } from "../model.ts";
import { anyNs, ccnp, cnp, eq, inNs, NS, policyOf, req, sel } from "./_testing.ts";

/** The rules of a policy whose spec has the given ingress rules. */
function ingressRules(rules: unknown[], clusterwide = false, endpointSelector: unknown = {}) {
  const spec = { endpointSelector, ingress: rules };
  return policyOf(clusterwide ? ccnp(spec) : cnp(spec)).rules;
}

function onlyRule(rules: unknown[], clusterwide = false): PolicyRule {
  const out = ingressRules(rules, clusterwide);
  assert.equal(out.length, 1);
  return out[0]!;
}

Deno.test("parseManifest() scopes Cilium endpoint selectors as Cilium does", async (t) => {
  const cases: Array<[string, unknown, boolean, Selector]> = [
    [
      "CNP: plain labels stay in the policy's namespace",
      { matchLabels: { app: "a" } },
      false,
      sel(eq("k8s:app", "a"), inNs("shop")),
    ],
    [
      "CNP: a namespace label reaches into that namespace",
      { matchLabels: { "k8s:io.kubernetes.pod.namespace": "kube-system", "k8s-app": "kube-dns" } },
      false,
      sel(inNs("kube-system"), eq("k8s:k8s-app", "kube-dns")),
    ],
    [
      "CNP: a namespace expression is kept as written",
      {
        matchExpressions: [{
          key: "io.kubernetes.pod.namespace",
          operator: "NotIn",
          values: ["x"],
        }],
      },
      false,
      sel(req(NS, "NotIn", "x")),
    ],
    [
      "CNP: namespace labels select across namespaces",
      { matchLabels: { "io.cilium.k8s.namespace.labels.team": "blue" } },
      false,
      sel(eq("k8s:io.cilium.k8s.namespace.labels.team", "blue")),
    ],
    [
      "CCNP: namespace labels still need a pod",
      { matchLabels: { "io.cilium.k8s.namespace.labels.team": "blue" } },
      true,
      sel(eq("k8s:io.cilium.k8s.namespace.labels.team", "blue"), anyNs),
    ],
    [
      "CNP: reserved identities are not scoped",
      { matchLabels: { "reserved:host": "" } },
      false,
      sel(eq("reserved:host", "")),
    ],
    [
      "CCNP: reserved identities are not scoped",
      { matchLabels: { "reserved:health": "" } },
      true,
      sel(eq("reserved:health", "")),
    ],
    [
      "`any:` keys are k8s keys",
      { matchLabels: { "any:app": "a" } },
      true,
      sel(eq("k8s:app", "a"), anyNs),
    ],
  ];
  for (const [name, selector, clusterwide, want] of cases) {
    await t.step(name, () => {
      const peers = onlyRule([{ fromEndpoints: [selector] }], clusterwide).peers;
      assert.deepEqual(peers, [{ kind: "endpoints", selector: want }]);
    });
  }
  await t.step("CCNP: peers of a subject selecting reserved:init are not scoped", () => {
    const rules = ingressRules([{ fromEndpoints: [{}] }], true, {
      matchLabels: { "reserved:init": "" },
    });
    assert.deepEqual(rules[0]!.peers, [{ kind: "endpoints", selector: sel() }]);
  });
  await t.step("requires are scoped even when they name a reserved identity", () => {
    const r = onlyRule([{
      fromEndpoints: [{}],
      fromRequires: [{ matchLabels: { "reserved:host": "" } }],
    }]);
    assert.deepEqual(r.requires, [sel(eq("reserved:host", ""), inNs("shop"))]);
  });
});

Deno.test("parseManifest() reads Cilium peers and their combinations", async (t) => {
  const cases: Array<[string, unknown, Peer[]]> = [
    [
      "several peer kinds in one rule are a union",
      {
        fromEndpoints: [{ matchLabels: { app: "a" } }],
        fromCIDR: ["192.0.2.7", "2001:db8::1", "198.51.100.0/24"],
        fromEntities: ["host", "remote-node"],
        fromCIDRSet: [{ cidrGroupRef: "vpn", except: ["10.0.0.0/24"] }, {
          cidr: "10.0.0.0/8",
          except: ["10.0.0.0/8"],
        }],
      },
      [
        { kind: "endpoints", selector: sel(eq("k8s:app", "a"), inNs("shop")) },
        { kind: "entity", entity: "host" },
        { kind: "entity", entity: "remote-node" },
        { kind: "cidr", cidr: "192.0.2.7/32", except: [] },
        { kind: "cidr", cidr: "2001:db8::1/128", except: [] },
        { kind: "cidr", cidr: "198.51.100.0/24", except: [] },
        { kind: "cidrGroup", group: "vpn", except: ["10.0.0.0/24"] },
        { kind: "cidr", cidr: "10.0.0.0/8", except: ["10.0.0.0/8"] },
      ],
    ],
    ["no peer field but ports: every peer", { toPorts: [{ ports: [{ port: "53" }] }] }, [{
      kind: "any",
    }]],
  ];
  for (const [name, rule, want] of cases) {
    await t.step(name, () => assert.deepEqual(onlyRule([rule]).peers, want));
  }
  const nothing: Array<[string, unknown]> = [
    ["an empty rule", {}],
    ["an explicitly empty peer list, even with ports", {
      fromEndpoints: [],
      toPorts: [{ ports: [{ port: "80" }] }],
    }],
    ["an empty peer list beside a non-empty one", { fromEntities: [], fromCIDR: ["192.0.2.0/24"] }],
    ["an empty toPorts list without peers", { toPorts: [] }],
  ];
  for (const [name, rule] of nothing) {
    await t.step(`${name} allows nothing: no rule, ingress still isolated`, () => {
      const p = policyOf(cnp({ endpointSelector: {}, ingress: [rule] }));
      assert.deepEqual([p.rules, p.isolates.ingress], [[], true]);
    });
  }
});

Deno.test("parseManifest() reads Cilium toPorts and icmps", async (t) => {
  const cases: Array<[string, unknown, L4[]]> = [
    ["protocol defaults to ANY", { ports: [{ port: "80" }] }, [{
      kind: "port",
      protocol: "ANY",
      port: 80,
    }]],
    ['port absent or "0" is every port', {
      ports: [{ protocol: "UDP" }, { port: "0", protocol: "TCP" }],
    }, [
      { kind: "port", protocol: "UDP", port: 0 },
      { kind: "port", protocol: "TCP", port: 0 },
    ]],
    ["a range", { ports: [{ port: "8000", endPort: 8100, protocol: "TCP" }] }, [
      { kind: "port", protocol: "TCP", port: 8000, endPort: 8100 },
    ]],
    ["endPort 0 is no range", { ports: [{ port: "8000", endPort: 0, protocol: "SCTP" }] }, [
      { kind: "port", protocol: "SCTP", port: 8000 },
    ]],
    ["named ports are case-insensitive", { ports: [{ port: "HTTP-Alt", protocol: "TCP" }] }, [
      { kind: "named", protocol: "TCP", name: "http-alt" },
    ]],
  ];
  for (const [name, toPorts, want] of cases) {
    await t.step(
      name,
      () => assert.deepEqual(onlyRule([{ fromEntities: ["world"], toPorts: [toPorts] }]).l4, want),
    );
  }
  await t.step("ICMP types by number, numeric string and name per family", () => {
    const fields = [{ type: 0 }, { type: "3" }, { type: "TimeExceeded" }, {
      family: "IPv6",
      type: "PacketTooBig",
    }];
    assert.deepEqual(onlyRule([{ icmps: [{ fields }] }]).l4, [
      { kind: "icmp", family: 4, type: 0 },
      { kind: "icmp", family: 4, type: 3 },
      { kind: "icmp", family: 4, type: 11 },
      { kind: "icmp", family: 6, type: 2 },
    ]);
  });
  await t.step("ports and ICMP types of one rule are alternatives", () => {
    const r = onlyRule([{
      toPorts: [{ ports: [{ port: "80", protocol: "TCP" }] }],
      icmps: [{ fields: [{ type: 8 }] }],
    }]);
    assert.deepEqual(r.l4, [{ kind: "port", protocol: "TCP", port: 80 }, {
      kind: "icmp",
      family: 4,
      type: 8,
    }]);
  });
});
