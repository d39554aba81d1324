// Conformance case files: parsing and validation (pure: no cluster, no I/O). The format is in
// README.md beside this file. Every error names the file and the field, e.g.
// `cases/k8s-deny-all.yaml: steps[1].expect["80/TCP"]: line 3: row "x/a" has 2 cells, ...`.
import { parse } from "yaml";
import type { ProbeSpec } from "./cluster.ts";
import { at, CaseError, Fields, show } from "./_fields.ts";
import { type Matrix, parseMatrix, type Participants } from "./matrix.ts";
import { checkPlaceholders } from "./placeholders.ts";
import { parseProbe, probeName } from "./probe.ts";

export { CaseError };

export type Labels = Record<string, string>;

export interface PodSpec {
  /** `namespace/name`. */
  key: string;
  namespace: string;
  labels: Labels;
  /** 0-based node index; absent = round-robin over the cluster's nodes. */
  node?: number;
  namedPorts: Record<string, { port: number; protocol: "TCP" | "UDP" | "SCTP" }>;
}

export interface ExternalSpec {
  key: string;
  ip: string;
}

export interface ObjectRef {
  kind: string;
  namespace?: string;
  name: string;
}

/** A step's changes, run in the order the step writes them. */
export type Action =
  | { kind: "apply"; manifests: unknown[] }
  | { kind: "label"; targets: { target: "pod" | "namespace"; key: string; labels: Labels }[] }
  | { kind: "delete"; refs: ObjectRef[] };

export interface Step {
  /** Field path of the step for messages: `steps[2]`, or "" for a case without steps. */
  field: string;
  actions: Action[];
  /** Some manifest of this step's apply must be rejected with a message matching this. */
  expectError?: RegExp;
  probes: ProbeSpec[];
  /** Matrix per probe name (`80/TCP`), one for every probe. */
  expect: Map<string, Matrix>;
}

export interface ConformanceCase {
  file: string;
  name: string;
  /** Labels include `kubernetes.io/metadata.name`. */
  namespaces: Map<string, Labels>;
  pods: PodSpec[];
  externals: ExternalSpec[];
  steps: Step[];
}

const NAME_LABEL = "kubernetes.io/metadata.name";
const TOP = ["name", "namespaces", "pods", "externals", "steps"];
const SINGLE = ["policies", "probes", "expect", "expectError"];
const STEP = ["apply", "label", "delete", "probes", "expect", "expectError"];
const NAMESPACED = ["NetworkPolicy", "CiliumNetworkPolicy"];
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
// IANA service names, as Kubernetes requires of container port names.
const PORT_NAME = /^(?=.{1,15}$)(?=.*[a-z])(?!.*--)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Parses and validates one case file's text. Throws CaseError. */
export function parseCase(text: string, file: string): ConformanceCase {
  const f: Fields = new Fields(file);
  let doc: unknown;
  try {
    doc = parse(text, { uniqueKeys: true, prettyErrors: true });
  } catch (err) {
    f.fail("(yaml)", err instanceof Error ? err.message.split("\n")[0]! : String(err));
  }
  const top = f.only(doc, "", [...TOP, ...SINGLE]);
  const name = f.string(top.name, "name");
  const namespaces = new Map<string, Labels>();
  for (const [ns, labels] of Object.entries(f.record(top.namespaces, "namespaces"))) {
    f.dnsLabel(ns, at("namespaces", ns), "namespace");
    namespaces.set(
      ns,
      withNameLabel(f, ns, f.labels(labels, at("namespaces", ns)), at("namespaces", ns)),
    );
  }
  const pods = Object.entries(f.record(top.pods, "pods")).map(([key, v]) =>
    parsePod(f, key, v, namespaces)
  );
  if (pods.length === 0) f.fail("pods", "declares no pods");
  const externals = Object.entries(f.record(top.externals ?? {}, "externals")).map(([key, ip]) => {
    const field = at("externals", key);
    if (!/^[^/\s]+\/[^/\s]+$/.test(key)) f.fail(field, `"${key}" must be GROUP/NAME, e.g. ext/one`);
    if (namespaces.has(key.split("/")[0]!)) {
      f.fail(field, `"${key}" must not use a namespace's name as its group`);
    }
    if (pods.some((p) => p.key === key)) f.fail(field, `"${key}" is already a pod`);
    if (typeof ip !== "string" || !IPV4.test(ip)) {
      f.fail(field, `must be an IPv4 address, got ${show(ip)}`);
    }
    return { key, ip };
  });
  const ctx: Context = {
    f,
    namespaces,
    who: { pods: pods.map((p) => p.key), externals: externals.map((e) => e.key) },
  };
  let steps: Step[];
  if (top.steps !== undefined) {
    const mixed = SINGLE.find((k) => top[k] !== undefined);
    if (mixed) f.fail(mixed, "cannot be used with steps: move it into a step");
    steps = f.list(top.steps, "steps").map((s, i) =>
      parseStep(ctx, f.only(s, at("steps", i), STEP), at("steps", i))
    );
    if (steps.length === 0) f.fail("steps", "is empty");
  } else {
    if (top.probes === undefined) f.fail("probes", "is required (or use steps)");
    // A case without steps is one step: apply `policies`, then probe.
    const single = Object.fromEntries(
      SINGLE.filter((k) => top[k] !== undefined).map((k) => [k, top[k]]),
    );
    steps = [parseStep(ctx, single, "")];
  }
  if (!steps.some((s) => s.probes.length > 0)) f.fail("steps", "no step probes anything");
  return { file, name, namespaces, pods, externals, steps };
}

interface Context {
  f: Fields;
  namespaces: Map<string, Labels>;
  who: Participants;
}

function withNameLabel(f: Fields, ns: string, labels: Labels, field: string): Labels {
  const given = labels[NAME_LABEL];
  if (given !== undefined && given !== ns) {
    f.fail(at(field, NAME_LABEL), `must be "${ns}" (Kubernetes sets it to the namespace's name)`);
  }
  return { ...labels, [NAME_LABEL]: ns };
}

function parsePod(
  f: Fields,
  key: string,
  value: unknown,
  namespaces: Map<string, Labels>,
): PodSpec {
  const field = at("pods", key);
  const [namespace, name, extra] = key.split("/");
  if (name === undefined || extra !== undefined) f.fail(field, `"${key}" must be NAMESPACE/NAME`);
  if (!namespaces.has(namespace!)) {
    f.fail(field, `namespace "${namespace}" is not declared in namespaces`);
  }
  f.dnsLabel(name, field, "pod name");
  const spec = f.only(value ?? {}, field, ["labels", "node", "ports"]);
  const namedPorts: PodSpec["namedPorts"] = {};
  for (const [portName, text] of Object.entries(f.record(spec.ports ?? {}, at(field, "ports")))) {
    const pf = at(at(field, "ports"), portName);
    if (!PORT_NAME.test(portName)) {
      f.fail(pf, `"${portName}" is not a port name (1-15 of a-z, 0-9, '-', with a letter)`);
    }
    const probe = parseProbe(text);
    if (typeof probe === "string" || probe.protocol === "ICMP") {
      f.fail(pf, `must be PORT/TCP, PORT/UDP or PORT/SCTP, got ${show(text)}`);
    }
    namedPorts[portName] = { port: probe.port, protocol: probe.protocol };
  }
  const pod: PodSpec = {
    key,
    namespace: namespace!,
    labels: f.labels(spec.labels, at(field, "labels")),
    namedPorts,
  };
  if (spec.node !== undefined) pod.node = f.int(spec.node, at(field, "node"), 0, 1023);
  return pod;
}

function parseStep(ctx: Context, s: Record<string, unknown>, field: string): Step {
  const f: Fields = ctx.f;
  const actions: Action[] = [];
  for (const key of Object.keys(s)) {
    const af = at(field, key);
    if (key === "apply" || key === "policies") {
      // `policies` is the top-level spelling of a single step's `apply`
      const manifests = f.list(s[key], af);
      manifests.forEach((m, i) => checkManifest(ctx, m, at(af, i)));
      actions.push({ kind: "apply", manifests });
    } else if (key === "label") {
      actions.push({ kind: "label", targets: parseLabels(ctx, s.label, af) });
    } else if (key === "delete") {
      actions.push({
        kind: "delete",
        refs: f.list(s.delete, af).map((r, i) => parseRef(f, r, at(af, i))),
      });
    }
  }
  const step: Step = { field, actions, probes: [], expect: new Map() };
  if (s.expectError !== undefined) {
    const ef = at(field, "expectError");
    if (!actions.some((a) => a.kind === "apply")) {
      f.fail(ef, "needs an apply (or policies) to reject");
    }
    try {
      step.expectError = new RegExp(f.string(s.expectError, ef), "i");
    } catch (err) {
      f.fail(ef, `is not a regular expression: ${(err as Error).message}`);
    }
  }
  if (s.probes === undefined) {
    if (s.expect !== undefined) f.fail(at(field, "expect"), "needs probes");
    return step;
  }
  const pf = at(field, "probes");
  step.probes = f.list(s.probes, pf).map((p, i) => {
    const probe = parseProbe(p);
    if (typeof probe === "string") f.fail(at(pf, i), probe);
    return probe;
  });
  if (step.probes.length === 0) f.fail(pf, "is empty");
  const names = step.probes.map(probeName);
  names.forEach((n, i) => names.indexOf(n) !== i && f.fail(at(pf, i), `"${n}" is listed twice`));
  const ef = at(field, "expect");
  const expect = f.record(s.expect, ef);
  for (const [key, text] of Object.entries(expect)) {
    if (!names.includes(key)) f.fail(at(ef, key), `is not one of the probes (${names.join(", ")})`);
    step.expect.set(key, parseMatrix(text, ctx.who, f, at(ef, key)));
  }
  for (const n of names) if (!step.expect.has(n)) f.fail(ef, `has no matrix for probe "${n}"`);
  return step;
}

function checkManifest(ctx: Context, m: unknown, field: string): void {
  const f: Fields = ctx.f;
  const obj = f.record(m, field);
  f.string(obj.apiVersion, at(field, "apiVersion"));
  f.string(obj.kind, at(field, "kind"));
  f.string(f.record(obj.metadata, at(field, "metadata")).name, at(at(field, "metadata"), "name"));
  checkPlaceholders(m, new Set([...ctx.who.pods, ...ctx.who.externals]), f, field);
}

function parseLabels(ctx: Context, value: unknown, field: string) {
  const f: Fields = ctx.f;
  return Object.entries(f.record(value, field)).map(([key, labels]) => {
    const lf = at(field, key);
    if (key.includes("/")) {
      if (!ctx.who.pods.includes(key)) f.fail(lf, `"${key}" is not a pod of this case`);
      return { target: "pod" as const, key, labels: f.labels(labels, lf) };
    }
    if (!ctx.namespaces.has(key)) {
      f.fail(lf, `"${key}" is not a namespace of this case (pods are NS/NAME)`);
    }
    return {
      target: "namespace" as const,
      key,
      labels: withNameLabel(f, key, f.labels(labels, lf), lf),
    };
  });
}

function parseRef(f: Fields, value: unknown, field: string): ObjectRef {
  const r = f.only(value, field, ["kind", "namespace", "name"]);
  const ref: ObjectRef = {
    kind: r.kind === undefined ? "NetworkPolicy" : f.string(r.kind, at(field, "kind")),
    name: f.string(r.name, at(field, "name")),
  };
  if (r.namespace !== undefined) ref.namespace = f.string(r.namespace, at(field, "namespace"));
  if (NAMESPACED.includes(ref.kind) && ref.namespace === undefined) {
    f.fail(at(field, "namespace"), `is required for a ${ref.kind}`);
  }
  if (!NAMESPACED.includes(ref.kind) && ref.namespace !== undefined) {
    f.fail(at(field, "namespace"), `must be absent: a ${ref.kind} is not namespaced`);
  }
  return ref;
}

/** Every probe any step runs, once each: what every pod and external must serve. */
export function servedProbes(c: ConformanceCase): ProbeSpec[] {
  const out = new Map<string, ProbeSpec>();
  for (const step of c.steps) for (const p of step.probes) out.set(probeName(p), p);
  return [...out.values()];
}
