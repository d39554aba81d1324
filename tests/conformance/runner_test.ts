import assert from "node:assert/strict";
import { join } from "node:path";
import { parseCase } from "./case.ts";
import { FakeCluster } from "./_fake_cluster.ts";
import { formatCell, formatReport, formatSkipped } from "./report.ts";
import { findCaseFiles, runCase, runCases } from "./runner.ts";

const HEAD = `
name: t
namespaces: {x: {team: a}}
pods:
  x/a: {labels: {pod: a}}
  x/b: {labels: {pod: b}}
  x/c: {labels: {pod: c}, node: 0}
`;
const ALL_OPEN = `. x/a x/b x/c\nx/a - . .\nx/b . - .\nx/c . . -`;
const TO_A_BLOCKED = `. x/a x/b x/c\nx/a - . .\nx/b X - .\nx/c X . -`;

function yamlMatrix(m: string): string {
  return JSON.stringify(m);
}

function single(probes: string, expect: Record<string, string>, extra = ""): string {
  const e = Object.entries(expect).map(([p, m]) => `  ${p}: ${yamlMatrix(m)}`).join("\n");
  return `${HEAD}${extra}probes: [${probes}]\nexpect:\n${e}\n`;
}

const DENY_TO_A =
  `{apiVersion: fake/v1, kind: FakeDeny, metadata: {name: d}, spec: {toLabels: {pod: a}}}`;

/** A single-step case that denies traffic to pods labelled pod=a and probes 80/TCP. */
function withDeny(matrix: string): string {
  return `${HEAD}policies: [${DENY_TO_A}]\nprobes: [80/TCP]\nexpect: {80/TCP: ${
    yamlMatrix(matrix)
  }}\n`;
}

Deno.test("runCase() resets, then creates namespaces, pods round-robin and externals serving every probe", async () => {
  const fake = new FakeCluster({ nodes: 2 });
  const text = `${HEAD}externals: {ext/one: 198.51.100.10}
steps:
  - probes: [80/TCP]
    expect: {80/TCP: ${yamlMatrix(ALL_OPEN)}}
  - probes: [ICMP]
    expect: {ICMP: ${yamlMatrix(ALL_OPEN)}}
`;
  const r = await runCase(fake, parseCase(text, "t.yaml"));
  assert.equal(r.status, "pass", r.problems.join("\n"));
  assert.deepEqual(fake.log.slice(0, 6), [
    "reset",
    "namespace x",
    "pod x/a node 0",
    "pod x/b node 1",
    "pod x/c node 0",
    "external ext/one",
  ]);
  assert.deepEqual(fake.namespaces.get("x"), { team: "a", "kubernetes.io/metadata.name": "x" });
  assert.deepEqual(fake.pods.get("x/b")!.serve, ["80/TCP", "ICMP"]);
  assert.deepEqual(fake.externals.get("ext/one")!.serve, ["80/TCP", "ICMP"]);
});

Deno.test("runCase() probes every cell but '-' and passes when all match", async () => {
  const fake = new FakeCluster();
  const m = `. x/a x/b x/c\nx/a - . -\nx/b X - .\nx/c X - -`;
  const r = await runCase(fake, parseCase(withDeny(m), "t.yaml"));
  assert.equal(r.status, "pass", r.problems.join("\n"));
  assert.equal(r.probed, 4);
  assert.deepEqual(fake.probed.sort(), [
    "x/a -> x/b 80/TCP",
    "x/b -> x/a 80/TCP",
    "x/b -> x/c 80/TCP",
    "x/c -> x/a 80/TCP",
  ]);
  assert.deepEqual(fake.log.slice(-2), ["apply FakeDeny d", "settle"]);
});

Deno.test("runCase() reports each differing cell and the observed matrix", async () => {
  const fake = new FakeCluster({
    reach: (from, to, _p, v) => from === "x/b" && to === "x/a" ? true : v,
  });
  const c = parseCase(
    `${HEAD}policies: [${DENY_TO_A}]\nprobes: [80/TCP, 81/TCP]\nexpect: {80/TCP: ${
      yamlMatrix(TO_A_BLOCKED)
    }, 81/TCP: ${yamlMatrix(TO_A_BLOCKED)}}\n`,
    "t.yaml",
  );
  const r = await runCase(fake, c, { retries: 0 });
  assert.equal(r.status, "fail");
  assert.deepEqual(r.mismatches.map((m) => formatCell(m, r.steps)), [
    "x/b -> x/a 80/TCP: expected X, got .",
    "x/b -> x/a 81/TCP: expected X, got .",
  ]);
  assert.deepEqual(r.observed[0], {
    step: 1,
    probe: "80/TCP",
    matrix: ".   x/a x/b x/c\nx/a -   .   .\nx/b .   -   .\nx/c X   .   -",
  });
  const report = formatReport([r]);
  assert.match(report, /^t +FAIL +12 +0 /m);
  assert.match(report, /^ {4}x\/b -> x\/a 80\/TCP: expected X, got \.$/m);
  assert.match(report, /^ {4}observed 80\/TCP:$/m);
  assert.match(report, /\n0 passed, 1 failed$/);
});

Deno.test("runCase() carries state from step to step: apply, label, delete", async () => {
  const fake = new FakeCluster();
  const text = `${HEAD}steps:
  - apply: [${DENY_TO_A}]
    probes: [80/TCP]
    expect: {80/TCP: ${yamlMatrix(TO_A_BLOCKED)}}
  - label: {x/b: {pod: a}, x: {team: b}}
    probes: [80/TCP]
    expect: {80/TCP: ${yamlMatrix(`. x/a x/b x/c\nx/a - X .\nx/b X - .\nx/c X X -`)}}
  - delete: [{kind: FakeDeny, name: d}]
    probes: [80/TCP]
    expect: {80/TCP: ${yamlMatrix(ALL_OPEN)}}
`;
  const r = await runCase(fake, parseCase(text, "t.yaml"));
  assert.equal(
    r.status,
    "pass",
    [...r.problems, ...r.mismatches.map((m) => formatCell(m, 3))].join("\n"),
  );
  assert.deepEqual(fake.log.filter((l) => !l.startsWith("pod") && !l.startsWith("namespace")), [
    "reset",
    "apply FakeDeny d",
    "settle",
    "label pod x/b",
    "label namespace x",
    "settle",
    "delete FakeDeny d",
    "settle",
  ]);
  assert.deepEqual(fake.namespaces.get("x"), { team: "b", "kubernetes.io/metadata.name": "x" });
});

Deno.test("runCase() resolves placeholders with the pods' addresses before applying", async () => {
  const fake = new FakeCluster();
  const c = parseCase(
    `${HEAD}policies: [{apiVersion: v1, kind: P, metadata: {name: p}, spec: {cidr: "\${net:x/b/24}", ip: "\${ip:x/c}"}}]
probes: [80/TCP]
expect: {80/TCP: ${yamlMatrix(ALL_OPEN)}}
`,
    "t.yaml",
  );
  assert.equal((await runCase(fake, c)).status, "pass");
  assert.deepEqual(fake.manifests.get("P p")!.spec, {
    cidr: "10.244.1.0/24",
    ip: `${fake.pods.get("x/c")!.ip}`,
  });
});

Deno.test("runCase() checks expectError: a matching rejection passes and earlier policy stays", async (t) => {
  const rejected =
    `{apiVersion: v1, kind: FakeDeny, metadata: {name: d}, spec: {rules: {http: []}}}`;
  const steps = (expectError: string, manifest: string) =>
    parseCase(
      `${HEAD}steps:
  - apply: [${DENY_TO_A}]
  - apply: [${manifest}]
    expectError: "${expectError}"
    probes: [80/TCP]
    expect: {80/TCP: ${yamlMatrix(TO_A_BLOCKED)}}
`,
      "t.yaml",
    );
  await t.step("matching rejection", async () => {
    const fake = new FakeCluster();
    const r = await runCase(fake, steps("L7 rules", rejected));
    assert.equal(r.status, "pass", r.problems.join("\n"));
    assert.deepEqual(fake.manifests.get("FakeDeny d")!.spec as object, { toLabels: { pod: "a" } });
  });
  await t.step("rejection with another message", async () => {
    const r = await runCase(new FakeCluster(), steps("toFQDNs", rejected));
    assert.equal(r.status, "fail");
    assert.match(
      r.problems[0]!,
      /^step 2: FakeDeny d was rejected with ".*L7 rules.*", which does not match \/toFQDNs\/i$/,
    );
  });
  await t.step("no rejection", async () => {
    const r = await runCase(new FakeCluster(), steps("L7", DENY_TO_A));
    assert.equal(r.status, "fail");
    assert.match(
      r.problems[0]!,
      /^step 2: expected a rejection matching \/L7\/i, but every manifest was accepted$/,
    );
  });
});

Deno.test("runCase() fails and stops at a manifest rejected without expectError", async () => {
  const fake = new FakeCluster({ reject: (m) => m.kind === "Bad" ? "spec: nope" : undefined });
  const r = await runCase(
    fake,
    parseCase(
      `${HEAD}steps:
  - apply: [{apiVersion: v1, kind: Bad, metadata: {name: b, namespace: x}}]
    probes: [80/TCP]
    expect: {80/TCP: ${yamlMatrix(ALL_OPEN)}}
`,
      "t.yaml",
    ),
  );
  assert.equal(r.status, "fail");
  assert.deepEqual(r.problems, ["Bad x/b was rejected: spec: nope"]);
  assert.equal(fake.probed.length, 0);
});

Deno.test("runCase() skips cells of probes the cluster cannot run, with the reason", async () => {
  const fake = new FakeCluster({
    unsupported: (p) =>
      p.protocol === "SCTP" ? "no SCTP in this kernel (CONFIG_IP_SCTP)" : undefined,
  });
  const c = parseCase(
    single("80/SCTP, 80/TCP", { "80/SCTP": TO_A_BLOCKED, "80/TCP": ALL_OPEN }),
    "t.yaml",
  );
  const r = await runCase(fake, c);
  assert.equal(r.status, "pass");
  assert.equal(r.skipped.length, 6);
  assert.equal(r.probed, 6);
  assert.ok(fake.probed.every((p) => p.endsWith("80/TCP")));
  assert.deepEqual(formatSkipped(r), [
    "skipped 6 cells of 80/SCTP: no SCTP in this kernel (CONFIG_IP_SCTP)",
  ]);
  assert.match(formatReport([r]), /^t +pass +6 +6 /m);
});

Deno.test("runCase() probes in parallel within the concurrency bound", async () => {
  const fake = new FakeCluster({ probeDelayMs: 5 });
  const c = parseCase(
    single("80/TCP, 81/TCP, 53/UDP", {
      "80/TCP": ALL_OPEN,
      "81/TCP": ALL_OPEN,
      "53/UDP": ALL_OPEN,
    }),
    "t.yaml",
  );
  assert.equal((await runCase(fake, c, { concurrency: 4 })).status, "pass");
  assert.equal(fake.probed.length, 18);
  assert.equal(fake.maxInFlight, 4);
});

Deno.test("runCase() retries cells expected reachable that were not reached, never unexpected reaches", async () => {
  const tries = new Map<string, number>();
  const fake = new FakeCluster({
    reach: (from, to, _p, verdict) => {
      const n = (tries.get(`${from}>${to}`) ?? 0) + 1;
      tries.set(`${from}>${to}`, n);
      if (from === "x/a" && to === "x/b") return n > 1; // lost once, then fine
      if (from === "x/b" && to === "x/a") return true; // leaks every time
      return verdict;
    },
  });
  const r = await runCase(fake, parseCase(withDeny(TO_A_BLOCKED), "t.yaml"));
  assert.deepEqual(r.mismatches.map((m) => formatCell(m, 1)), [
    "x/b -> x/a 80/TCP: expected X, got .",
  ]);
  assert.equal(tries.get("x/a>x/b"), 2);
  assert.equal(tries.get("x/b>x/a"), 1);
});

Deno.test("runCase() turns cluster failures into an error result", async (t) => {
  await t.step("pod on a node that does not exist", async () => {
    const c = parseCase(
      single("80/TCP", { "80/TCP": ALL_OPEN }).replace("node: 0", "node: 5"),
      "t.yaml",
    );
    const r = await runCase(new FakeCluster({ nodes: 2 }), c);
    assert.equal(r.status, "error");
    assert.match(
      r.problems[0]!,
      /pods\["x\/c"\]\.node: node 5 does not exist \(the cluster has 2 nodes\)/,
    );
  });
  await t.step("probe that throws", async () => {
    const fake = new FakeCluster();
    fake.probe = () => Promise.reject(new Error("no such netns"));
    const r = await runCase(fake, parseCase(single("80/TCP", { "80/TCP": ALL_OPEN }), "t.yaml"));
    assert.equal(r.status, "fail");
    assert.equal(
      formatCell(r.mismatches[0]!, 1),
      "x/a -> x/b 80/TCP: expected ., got error (no such netns)",
    );
  });
});

Deno.test("runCases() runs files in order, reports unparsable ones and honours the filter", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hypha-conformance-" });
  try {
    await Deno.writeTextFile(
      join(dir, "b.yaml"),
      single("80/TCP", { "80/TCP": ALL_OPEN }).replace("name: t", "name: bee"),
    );
    await Deno.writeTextFile(
      join(dir, "a.yml"),
      single("80/TCP", { "80/TCP": ALL_OPEN }).replace("name: t", "name: ant"),
    );
    await Deno.writeTextFile(join(dir, "c.yaml"), "name: broken\n");
    await Deno.writeTextFile(join(dir, "notes.txt"), "not a case");
    const files = await findCaseFiles([dir]);
    assert.deepEqual(files.map((f) => f.slice(dir.length + 1)), ["a.yml", "b.yaml", "c.yaml"]);
    const seen: string[] = [];
    const all = await runCases(new FakeCluster(), files, { onResult: (r) => seen.push(r.name) });
    assert.deepEqual(all.map((r) => [r.name, r.status]), [
      ["ant", "pass"],
      ["bee", "pass"],
      [join(dir, "c.yaml"), "error"],
    ]);
    assert.deepEqual(seen, ["ant", "bee", join(dir, "c.yaml")]);
    assert.match(all[2]!.problems[0]!, /c\.yaml: namespaces: must be a mapping/);
    const some = await runCases(new FakeCluster(), files, { filter: /^bee$/ });
    assert.deepEqual(some.map((r) => r.name), ["bee"]);
    assert.match(formatReport(all), /\n2 passed, 1 failed$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
