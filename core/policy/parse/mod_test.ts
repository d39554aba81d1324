import assert from "node:assert/strict";
import { assertIssues, ccnp, cnp, np } from "./_testing.ts";
import { manifestKey, parseManifest, parseManifestText } from "./mod.ts";

const group = (spec: unknown, metadata: unknown = { name: "vpn" }) => ({
  apiVersion: "cilium.io/v2alpha1",
  kind: "CiliumCIDRGroup",
  metadata,
  spec,
});

Deno.test("parseManifestText() reads every document and prefixes issue paths", () => {
  const text = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: deny-all, namespace: shop }
spec: { podSelector: {}, policyTypes: [Ingress] }
---
# a comment-only document is skipped, but keeps its index
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: broken }
spec:
  endpointSelector: {}
  ingress: [{ fromCIDR: ["10.0.0.0/33"] }]
---
apiVersion: cilium.io/v2alpha1
kind: CiliumCIDRGroup
metadata: { name: vpn }
spec: { externalCIDRs: ["10.48.0.0/24", "10.16.0.5/24"] }
`;
  const r = parseManifestText(text, "policy.yaml");
  assert.deepEqual(r.policies.map((p) => p.ref.name), ["deny-all"]);
  assert.deepEqual(r.cidrGroups, [{ name: "vpn", cidrs: ["10.48.0.0/24", "10.16.0.0/24"] }]);
  assert.deepEqual(r.issues, [{
    path: "policy.yaml[2].spec.ingress[0].fromCIDR[0]",
    message: `Invalid CIDR "10.0.0.0/33": prefix length must be 0-32 for IPv4`,
  }]);
});

Deno.test("parseManifestText() reports YAML errors per document and reads JSON", async (t) => {
  await t.step("a duplicate key is a YAML error, other documents still count", () => {
    const r = parseManifestText(
      `kind: NetworkPolicy\nkind: NetworkPolicy\n---\n${JSON.stringify(np({}))}`,
      "a.yaml",
    );
    assert.equal(r.policies.length, 1);
    assert.equal(r.issues.length, 1);
    assert.equal(r.issues[0]!.path, "a.yaml[0]");
    assert.match(r.issues[0]!.message, /^Invalid YAML: Map keys must be unique/);
  });
  await t.step("a JSON file", () => {
    const r = parseManifestText(
      JSON.stringify(cnp({ endpointSelector: {}, ingress: [{}] })),
      "p.json",
    );
    assert.deepEqual([r.issues, r.policies.length], [[], 1]);
  });
  await t.step("an empty file", () => {
    assert.deepEqual(parseManifestText("", "e.yaml"), { policies: [], cidrGroups: [], issues: [] });
  });
});

Deno.test("parseManifest() accepts only the policy kinds and names the accepted ones", async (t) => {
  const accepted = `accepted are networking.k8s.io/v1 NetworkPolicy, cilium.io/v2 ` +
    `CiliumNetworkPolicy, cilium.io/v2 CiliumClusterwideNetworkPolicy and cilium.io/v2alpha1 ` +
    "CiliumCIDRGroup";
  const cases: Array<[string, unknown, string, string]> = [
    [
      "another kind",
      { apiVersion: "v1", kind: "Service", metadata: { name: "s" } },
      "kind",
      `Unsupported kind "Service" (apiVersion "v1"): ${accepted}`,
    ],
    [
      "a known kind at another version",
      { ...np({}), apiVersion: "networking.k8s.io/v1beta1" },
      "apiVersion",
      `Unsupported apiVersion "networking.k8s.io/v1beta1" for kind "NetworkPolicy": use ` +
      `"networking.k8s.io/v1"`,
    ],
    ["no kind", { apiVersion: "v1" }, "kind", `Field "kind" is required`],
    ["not an object", ["a"], "", "Must be an object, got a list"],
    ["an unknown top-level field", { ...np({}), extra: 1 }, "extra", `Unknown field "extra"`],
    [
      "an unknown metadata field",
      np({}, { name: "p", lables: {} }),
      "metadata.lables",
      `Unknown field "lables" (did you mean "labels"?)`,
    ],
    [
      "an invalid metadata label",
      np({}, { name: "p", labels: { team: "a b" } }),
      "metadata.labels.team",
      `Invalid label "team": must be empty or 1-63 letters, digits, "-", "_" or ".", starting ` +
      "and ending with a letter or digit",
    ],
  ];
  for (const [name, doc, path, message] of cases) {
    await t.step(name, () => assertIssues(doc, { path, message }));
  }
  await t.step("opts.path prefixes every issue path", () => {
    assert.deepEqual(parseManifest({ ...np({}), extra: 1 }, { path: "x.yaml[3]" }).issues, [
      { path: "x.yaml[3].extra", message: `Unknown field "extra"` },
    ]);
  });
  await t.step("status written by a controller is ignored", () => {
    const r = parseManifest({
      ...cnp({ endpointSelector: {}, ingress: [{}] }),
      status: { nodes: {} },
    });
    assert.deepEqual([r.issues, r.policies.length], [[], 1]);
  });
});

Deno.test("parseManifest() reads a kind: List item by item", () => {
  const list = { apiVersion: "v1", kind: "List", items: [np({}), { ...np({}), spec: 1 }] };
  const r = parseManifest(list, { path: "l.yaml[0]" });
  assert.equal(r.policies.length, 1);
  assert.deepEqual(r.issues, [{
    path: "l.yaml[0].items[1].spec",
    message: "Must be an object, got the number 1",
  }]);
});

Deno.test("parseManifest() reads CiliumCIDRGroups", async (t) => {
  await t.step("both API versions, CIDRs canonical and unique", () => {
    for (const apiVersion of ["cilium.io/v2alpha1", "cilium.io/v2"]) {
      const r = parseManifest({
        ...group({ externalCIDRs: ["fd00::1/64", "fd00::/64"] }),
        apiVersion,
      });
      assert.deepEqual(r, {
        policies: [],
        cidrGroups: [{ name: "vpn", cidrs: ["fd00::/64"] }],
        issues: [],
      });
    }
  });
  const cases: Array<[string, unknown, string, string]> = [
    [
      "an invalid CIDR",
      group({ externalCIDRs: ["10.0.0.0/8", "10.0.0.0"] }),
      "spec.externalCIDRs[1]",
      `Invalid CIDR "10.0.0.0": missing "/prefix-length"`,
    ],
    ["no externalCIDRs", group({}), "spec.externalCIDRs", `Field "externalCIDRs" is required`],
    [
      "a namespace",
      group({ externalCIDRs: [] }, { name: "vpn", namespace: "a" }),
      "metadata.namespace",
      "CiliumCIDRGroup is cluster-wide: remove metadata.namespace",
    ],
  ];
  for (const [name, doc, path, message] of cases) {
    await t.step(name, () => assertIssues(doc, { path, message }));
  }
});

Deno.test("manifestKey() names a manifest for apply and delete", async (t) => {
  const cases: Array<[string, unknown, ReturnType<typeof manifestKey>]> = [
    ["a NetworkPolicy without namespace", np({}, { name: "a" }), {
      kind: "NetworkPolicy",
      namespace: "default",
      name: "a",
    }],
    ["a CiliumNetworkPolicy", cnp(undefined, { name: "b", namespace: "x" }), {
      kind: "CiliumNetworkPolicy",
      namespace: "x",
      name: "b",
    }],
    ["a cluster-wide policy, even with an invalid spec", ccnp(7, { name: "c" }), {
      kind: "CiliumClusterwideNetworkPolicy",
      name: "c",
    }],
    ["a CIDR group", group(undefined), { kind: "CiliumCIDRGroup", name: "vpn" }],
    ["no name", np({}, {}), { path: "metadata.name", message: `Field "name" is required` }],
    ["no metadata", { ...np({}), metadata: undefined }, {
      path: "metadata",
      message: `Field "metadata" is required (with at least a name)`,
    }],
    [
      "another kind",
      { apiVersion: "v1", kind: "Pod", metadata: { name: "p" } },
      {
        path: "kind",
        message: `Unsupported kind "Pod" (apiVersion "v1"): accepted are networking.k8s.io/v1 ` +
          "NetworkPolicy, cilium.io/v2 CiliumNetworkPolicy, cilium.io/v2 " +
          "CiliumClusterwideNetworkPolicy and cilium.io/v2alpha1 CiliumCIDRGroup",
      },
    ],
  ];
  for (const [name, doc, want] of cases) {
    await t.step(name, () => assert.deepEqual(manifestKey(doc), want));
  }
});
