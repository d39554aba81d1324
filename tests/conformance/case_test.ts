import assert from "node:assert/strict";
import { CaseError, parseCase, servedProbes } from "./case.ts";

const EXAMPLE = `
name: allow-from-namespace-y-to-x-a-port-80
namespaces:
  x: {ns: x}
  y: {ns: y}
pods:
  x/a: {labels: {pod: a}, ports: {serve-80-tcp: 80/TCP}}
  x/b: {labels: {pod: b}, node: 1}
  y/a: {labels: {pod: a}}
externals:
  ext/one: 198.51.100.10
policies:
  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: p1, namespace: x}
    spec: {podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}]}]}
probes: [80/TCP, 81/TCP, 53/UDP]
expect:
  80/TCP: |
    .    x/a x/b y/a ext/one
    x/a  -   .   .   .
    x/b  X   -   .   .
    y/a  .   .   -   .
  81/TCP: |
    .    x/a x/b y/a
    x/a  -   .   .
    x/b  X   -   .
    y/a  .   .   -
  53/UDP: |
    .    y/a x/b x/a
    y/a  -   .   .
    x/b  .   -   X
    x/a  .   .   -
`;

/** The case with `old` replaced by `replacement` (which must occur). */
function variant(old: string, replacement: string, base = EXAMPLE): string {
  assert.ok(base.includes(old), `fixture has no "${old}"`);
  return base.replace(old, replacement);
}

function parseError(text: string): CaseError {
  try {
    parseCase(text, "cases/t.yaml");
  } catch (err) {
    assert.ok(err instanceof CaseError, `not a CaseError: ${err}`);
    return err;
  }
  assert.fail("parsed without error");
}

function assertError(text: string, field: string, detail: RegExp): void {
  const err = parseError(text);
  assert.equal(err.field, field, err.message);
  assert.match(err.detail, detail);
  assert.ok(err.message.startsWith(`cases/t.yaml: ${field}: `), err.message);
}

Deno.test("parseCase() reads every field of a single-step case", () => {
  const c = parseCase(EXAMPLE, "cases/t.yaml");
  assert.equal(c.name, "allow-from-namespace-y-to-x-a-port-80");
  assert.deepEqual(c.namespaces.get("y"), { ns: "y", "kubernetes.io/metadata.name": "y" });
  assert.deepEqual(c.pods[0], {
    key: "x/a",
    namespace: "x",
    labels: { pod: "a" },
    namedPorts: { "serve-80-tcp": { port: 80, protocol: "TCP" } },
  });
  assert.equal(c.pods[1]!.node, 1);
  assert.equal(c.pods[2]!.node, undefined);
  assert.deepEqual(c.externals, [{ key: "ext/one", ip: "198.51.100.10" }]);
  assert.equal(c.steps.length, 1);
  const step = c.steps[0]!;
  assert.equal(step.actions[0]!.kind, "apply");
  assert.deepEqual(step.probes, [
    { protocol: "TCP", port: 80 },
    { protocol: "TCP", port: 81 },
    { protocol: "UDP", port: 53 },
  ]);
  assert.deepEqual(step.expect.get("80/TCP")!.cols, ["x/a", "x/b", "y/a", "ext/one"]);
  assert.deepEqual(step.expect.get("53/UDP")!.rows, ["y/a", "x/b", "x/a"]);
  assert.equal(step.expectError, undefined);
});

Deno.test("parseCase() reads steps with apply, label, delete and expectError in written order", () => {
  const text = `
name: steps
namespaces: {x: {}, "y": {team: red}}
pods: {x/a: {labels: {pod: a}}, x/b: {}}
steps:
  - apply: [{apiVersion: v1, kind: NetworkPolicy, metadata: {name: p, namespace: x}}]
    probes: [ICMP]
    expect: {ICMP: ". x/a x/b\\nx/a - .\\nx/b X -"}
  - delete: [{namespace: x, name: p}, {kind: CiliumClusterwideNetworkPolicy, name: c}]
    label: {x/b: {pod: b}, "y": {team: blue}}
  - apply: [{apiVersion: cilium.io/v2, kind: CiliumNetworkPolicy, metadata: {name: bad}}]
    expectError: "l7|rules"
    probes: [9000/SCTP]
    expect:
      9000/SCTP: |
        # comments and blank lines are ignored
        .   x/a x/b

        x/a -   X
        x/b .   -
`;
  const c = parseCase(text, "t.yaml");
  assert.deepEqual(c.steps.map((s) => s.field), ["steps[0]", "steps[1]", "steps[2]"]);
  assert.deepEqual(c.steps[1]!.actions.map((a) => a.kind), ["delete", "label"]);
  assert.deepEqual(c.steps[1]!.actions[0], {
    kind: "delete",
    refs: [
      { kind: "NetworkPolicy", namespace: "x", name: "p" },
      { kind: "CiliumClusterwideNetworkPolicy", name: "c" },
    ],
  });
  assert.deepEqual(c.steps[1]!.actions[1], {
    kind: "label",
    targets: [
      { target: "pod", key: "x/b", labels: { pod: "b" } },
      {
        target: "namespace",
        key: "y",
        labels: { team: "blue", "kubernetes.io/metadata.name": "y" },
      },
    ],
  });
  assert.deepEqual(c.steps[1]!.probes, []);
  assert.ok(c.steps[2]!.expectError!.test("spec.ingress[0].toPorts[0].RULES: not supported"));
  assert.deepEqual(c.steps[2]!.expect.get("9000/SCTP")!.cells, [["-", "X"], [".", "-"]]);
  assert.deepEqual(servedProbes(c), [
    { protocol: "ICMP", port: 0 },
    { protocol: "SCTP", port: 9000 },
  ]);
});

Deno.test("parseCase() rejects bad probes, naming the field", () => {
  for (const bad of ["80/tcp", "70000/TCP", "ICMP/1", "80", "0/UDP", "80/ICMP"]) {
    assertError(
      variant("probes: [80/TCP, 81/TCP, 53/UDP]", `probes: [80/TCP, 81/TCP, 53/UDP, "${bad}"]`),
      "probes[3]",
      /probe|port/,
    );
  }
  assertError(variant("81/TCP, 53/UDP]", "81/TCP, 53/UDP, 80/TCP]"), "probes[3]", /twice/);
  assertError(variant("  53/UDP: |", "  54/UDP: |"), 'expect["54/UDP"]', /not one of the probes/);
  assertError(
    variant("probes: [80/TCP, 81/TCP, 53/UDP]", "probes: [80/TCP, 81/TCP, 53/UDP, ICMP]"),
    "expect",
    /no matrix for probe "ICMP"/,
  );
});

Deno.test("parseCase() rejects bad matrix shapes and unknown or missing pods", () => {
  const m = (matrix: string, lastRow = "    y/a  .   .   -\n") =>
    variant(
      "    .    x/a x/b y/a\n    x/a  -   .   .\n    x/b  X   -   .\n    y/a  .   .   -\n",
      matrix + lastRow,
    );
  const field = 'expect["81/TCP"]';
  assertError(m("    x/a  x/b y/a\n    x/a  -   .\n"), field, /corner cell/);
  assertError(
    m("    .  x/a x/b y/a\n    x/a  -  .\n    x/b X - .\n"),
    field,
    /row "x\/a" has 2 cells/,
  );
  assertError(m("    .  x/a x/b y/a\n    x/a  -  .  o\n    x/b X - .\n"), field, /cell "o"/);
  assertError(
    m("    .  x/a x/b y/c\n    x/a  -  .  .\n    x/b X - .\n"),
    field,
    /unknown pod.*"y\/c"/,
  );
  assertError(m("    .  x/a x/b y/a\n    x/c  -  .  .\n    x/b X - .\n"), field, /line 2: unknown/);
  assertError(
    m("    .  x/a x/b x/a\n    x/a  -  .  .\n    x/b X - .\n"),
    field,
    /column "x\/a" appears twice/,
  );
  assertError(
    m("    .  x/a x/b y/a\n    x/a  -  .  .\n    x/a X - .\n"),
    field,
    /row "x\/a" appears twice/,
  );
  assertError(m("    .  x/a x/b y/a\n    x/a  -  .  .\n"), field, /pod "x\/b" has no row/);
  assertError(
    m("    .  x/a y/a\n    x/a  -  .\n    x/b X .\n", "    y/a . -\n"),
    field,
    /pod "x\/b" has no column/,
  );
  assertError(m("    .  x/a x/b y/a\n    x/a  .  .  .\n    x/b X - .\n"), field, /itself/);
  assertError(variant("  81/TCP: |\n", "  81/TCP: 5\n  x: |\n"), field, /matrix written as text/);
});

Deno.test("parseCase() allows externals to be left out of a matrix but never probed between them", () => {
  const two = variant(
    "  ext/one: 198.51.100.10",
    "  ext/one: 198.51.100.10\n  ext/two: 203.0.113.1",
  );
  const text = variant(
    "    .    x/a x/b y/a ext/one\n    x/a  -   .   .   .\n",
    "    .    x/a x/b y/a ext/one\n    ext/two . . . .\n    x/a  -   .   .   .\n",
    two,
  );
  assertError(text, 'expect["80/TCP"]', /between externals/);
});

Deno.test("parseCase() rejects placeholders that name unknown pods or bad prefix lengths", () => {
  const withCidr = (cidr: string) =>
    variant("ingress: [{from: [", `ingress: [{from: [{ipBlock: {cidr: "${cidr}"}}, `);
  const field = "policies[0].spec.ingress[0].from[0].ipBlock.cidr";
  parseCase(withCidr("${net:x/b/4}"), "t.yaml");
  parseCase(withCidr("${ip:ext/one}/32"), "t.yaml");
  assertError(withCidr("${ip:x/c}/32"), field, /"x\/c", which is no pod/);
  assertError(withCidr("${net:q/b/8}"), field, /"q\/b", which is no pod/);
  assertError(withCidr("${net:x/b/33}"), field, /prefix length must be 0-32/);
  assertError(withCidr("${net:x/b/-1}"), field, /prefix length/);
  assertError(withCidr("${net:x/b}"), field, /prefix length/);
  assertError(withCidr("${addr:x/b}"), field, /not a placeholder/);
  assertError(withCidr("${ip:x/b/32"), field, /unterminated/);
});

Deno.test("parseCase() rejects malformed top-level fields, pods and externals", () => {
  assertError("name: [", "(yaml)", /./);
  assertError(variant("name: allow", "nmae: allow"), "nmae", /unknown field/);
  assertError(
    variant("name: allow-from-namespace-y-to-x-a-port-80\n", ""),
    "name",
    /non-empty string/,
  );
  assertError(
    variant("  y/a: {labels: {pod: a}}", "  z/a: {}"),
    'pods["z/a"]',
    /namespace "z" is not declared/,
  );
  assertError(variant("  y/a: {labels: {pod: a}}", "  y/A: {}"), 'pods["y/A"]', /DNS label/);
  assertError(
    variant("  y/a: {labels: {pod: a}}", "  y/a: {labels: {v: 1}}"),
    'pods["y/a"].labels.v',
    /quote it/,
  );
  assertError(
    variant("  y/a: {labels: {pod: a}}", "  y/a: {node: -1}"),
    'pods["y/a"].node',
    /integer/,
  );
  assertError(
    variant("  y/a: {labels: {pod: a}}", "  y/a: {nodes: 1}"),
    'pods["y/a"].nodes',
    /unknown field/,
  );
  assertError(
    variant("serve-80-tcp: 80/TCP", "serve-80-tcp: ICMP"),
    'pods["x/a"].ports["serve-80-tcp"]',
    /PORT\/TCP/,
  );
  assertError(
    variant("serve-80-tcp: 80/TCP", "serve--80: 80/TCP"),
    'pods["x/a"].ports["serve--80"]',
    /port name/,
  );
  assertError(
    variant("ext/one: 198.51.100.10", "ext/one: 198.51.100.300"),
    'externals["ext/one"]',
    /IPv4/,
  );
  assertError(
    variant("ext/one: 198.51.100.10", "x/one: 198.51.100.10"),
    'externals["x/one"]',
    /namespace's name/,
  );
  assertError(
    variant("  x: {ns: x}", "  x: {kubernetes.io/metadata.name: z}"),
    'namespaces.x["kubernetes.io/metadata.name"]',
    /must be "x"/,
  );
  assertError(variant("probes:", "steps: []\nprobes:"), "policies", /cannot be used with steps/);
  assertError(
    variant("    metadata: {name: p1, namespace: x}\n", ""),
    "policies[0].metadata",
    /must be a mapping/,
  );
});

Deno.test("parseCase() rejects malformed steps", () => {
  const base = `
name: s
namespaces: {x: {}}
pods: {x/a: {}, x/b: {}}
steps:
`;
  const ok = `    probes: [80/TCP]\n    expect: {80/TCP: ". x/a x/b\\nx/a - .\\nx/b . -"}\n`;
  assertError(base + "  - labels: {x/a: {}}\n" + ok, "steps[0].labels", /unknown field/);
  assertError(base + "  - label: {x/c: {}}\n" + ok, 'steps[0].label["x/c"]', /not a pod/);
  assertError(base + "  - label: {z: {}}\n" + ok, "steps[0].label.z", /not a namespace/);
  assertError(base + "  - delete: [{name: p}]\n" + ok, "steps[0].delete[0].namespace", /required/);
  assertError(
    base + "  - delete: [{kind: CiliumCIDRGroup, namespace: x, name: g}]\n" + ok,
    "steps[0].delete[0].namespace",
    /not namespaced/,
  );
  assertError(base + "  - expectError: x\n" + ok, "steps[0].expectError", /needs an apply/);
  assertError(
    base + "  - apply: []\n    expectError: '('\n" + ok,
    "steps[0].expectError",
    /regular expression/,
  );
  assertError(
    base + "  - apply: [{kind: NetworkPolicy, metadata: {name: p}}]\n" + ok,
    "steps[0].apply[0].apiVersion",
    /non-empty/,
  );
  assertError(base + "  - apply: []\n    expect: {}\n", "steps[0].expect", /needs probes/);
  assertError(base + "  - apply: []\n", "steps", /no step probes anything/);
  assertError(base + "  - probes: []\n    expect: {}\n", "steps[0].probes", /is empty/);
});
