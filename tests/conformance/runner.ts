// Runs conformance cases against a ConformanceCluster: builds each case's namespaces, pods and
// externals, applies its steps, and probes every expected cell in parallel. Only the
// ConformanceCluster interface is used, so the lab and the unit tests' fake are interchangeable.
import { join } from "node:path";
import type { ConformanceCluster, ProbeSpec } from "./cluster.ts";
import { type ConformanceCase, parseCase, servedProbes, type Step } from "./case.ts";
import { expectedCells, renderMatrix } from "./matrix.ts";
import { resolvePlaceholders } from "./placeholders.ts";
import { probeName } from "./probe.ts";

export interface RunOptions {
  /** Per-probe bound (default 1500 ms). */
  probeTimeoutMs?: number;
  /** Probes in flight at once (default 32). */
  concurrency?: number;
  /**
   * Extra tries for a cell expected reachable that was not reached (default 1). A reached probe
   * proves the path is open, but one lost packet can fail a single try; an unexpected reach is
   * never retried, since it already proves a leak.
   */
  retries?: number;
  /** Runs only cases whose name or file matches. */
  filter?: RegExp;
  /** Called as each case finishes (progress output). */
  onResult?: (result: CaseResult) => void;
}

export interface CellOutcome {
  /** 1-based step number. */
  step: number;
  from: string;
  to: string;
  probe: string;
  expected: "." | "X";
  got: "." | "X" | "skipped" | "error";
  /** Why it was skipped, or the probe's error. */
  detail?: string;
}

export interface CaseResult {
  file: string;
  name: string;
  /** "error": the case could not be run (bad file, cluster failure); "fail": hypha misbehaved. */
  status: "pass" | "fail" | "error";
  durationMs: number;
  steps: number;
  /** Cells probed (skipped cells not counted). */
  probed: number;
  mismatches: CellOutcome[];
  skipped: CellOutcome[];
  /** Step-level failures: unexpected or missing rejections, errors. */
  problems: string[];
  /** The observed matrix of every probe with a differing cell, laid out like the expected one. */
  observed: { step: number; probe: string; matrix: string }[];
}

/** Parses and runs each case file in order; a file that does not parse yields an "error" result. */
export async function runCases(
  cluster: ConformanceCluster,
  files: readonly string[],
  opts: RunOptions = {},
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const file of files) {
    let result: CaseResult;
    try {
      const c = parseCase(await Deno.readTextFile(file), file);
      if (opts.filter && !opts.filter.test(c.name) && !opts.filter.test(file)) continue;
      result = await runCase(cluster, c, opts);
    } catch (err) {
      if (opts.filter && !opts.filter.test(file)) continue;
      result = newResult(file, file, 0);
      result.status = "error";
      result.problems.push(message(err));
    }
    opts.onResult?.(result);
    results.push(result);
  }
  return results;
}

/** Runs one parsed case from a clean cluster. Never throws: failures are in the result. */
export async function runCase(
  cluster: ConformanceCluster,
  c: ConformanceCase,
  opts: RunOptions = {},
): Promise<CaseResult> {
  const started = performance.now();
  const result = newResult(c.file, c.name, c.steps.length);
  try {
    const ips = await build(cluster, c);
    for (const [i, step] of c.steps.entries()) {
      const where = c.steps.length > 1 ? `step ${i + 1}: ` : "";
      if (!await runActions(cluster, step, ips, result, where)) break;
      if (step.probes.length === 0) continue;
      await cluster.settle();
      await probeStep(cluster, step, i + 1, result, opts);
    }
    if (result.problems.length > 0 || result.mismatches.length > 0) result.status = "fail";
  } catch (err) {
    result.status = "error";
    result.problems.push(message(err));
  }
  result.durationMs = performance.now() - started;
  return result;
}

function newResult(file: string, name: string, steps: number): CaseResult {
  return {
    file,
    name,
    status: "pass",
    durationMs: 0,
    steps,
    probed: 0,
    mismatches: [],
    skipped: [],
    problems: [],
    observed: [],
  };
}

/** Resets the cluster and creates the case's objects; returns every pod's and external's IP. */
async function build(
  cluster: ConformanceCluster,
  c: ConformanceCase,
): Promise<Map<string, string>> {
  await cluster.reset();
  for (const [name, labels] of c.namespaces) await cluster.createNamespace(name, labels);
  const serve = servedProbes(c);
  const ips = new Map<string, string>();
  // Round-robin by position in the file, so neighbouring pods land on different nodes.
  for (const [i, pod] of c.pods.entries()) {
    const node = pod.node ?? i % cluster.nodeCount;
    if (node >= cluster.nodeCount) {
      throw new Error(
        `${c.file}: pods["${pod.key}"].node: node ${node} does not exist (the cluster has ${cluster.nodeCount} nodes)`,
      );
    }
    const { ip } = await cluster.createPod(pod.key, {
      labels: pod.labels,
      node,
      namedPorts: pod.namedPorts,
      serve,
    });
    ips.set(pod.key, ip);
  }
  for (const ext of c.externals) {
    await cluster.createExternal(ext.key, ext.ip, serve);
    ips.set(ext.key, ext.ip);
  }
  return ips;
}

/** Runs a step's changes; false when the case cannot go on (a valid manifest was rejected). */
async function runActions(
  cluster: ConformanceCluster,
  step: Step,
  ips: Map<string, string>,
  result: CaseResult,
  where: string,
): Promise<boolean> {
  const rejections: { what: string; why: string }[] = [];
  for (const action of step.actions) {
    if (action.kind === "apply") {
      for (const manifest of action.manifests) {
        try {
          await cluster.apply(resolvePlaceholders(manifest, ips));
        } catch (err) {
          rejections.push({ what: describe(manifest), why: message(err) });
        }
      }
    } else if (action.kind === "label") {
      for (const t of action.targets) {
        if (t.target === "pod") await cluster.setPodLabels(t.key, t.labels);
        else await cluster.setNamespaceLabels(t.key, t.labels);
      }
    } else {
      for (const ref of action.refs) await cluster.delete(ref);
    }
  }
  const re = step.expectError;
  if (!re) {
    for (const r of rejections) result.problems.push(`${where}${r.what} was rejected: ${r.why}`);
    return rejections.length === 0;
  }
  if (rejections.length === 0) {
    result.problems.push(
      `${where}expected a rejection matching ${re}, but every manifest was accepted`,
    );
  }
  for (const r of rejections.filter((r) => !re.test(r.why))) {
    result.problems.push(
      `${where}${r.what} was rejected with "${r.why}", which does not match ${re}`,
    );
  }
  return true;
}

async function probeStep(
  cluster: ConformanceCluster,
  step: Step,
  stepNo: number,
  result: CaseResult,
  opts: RunOptions,
): Promise<void> {
  const timeout = opts.probeTimeoutMs ?? 1500;
  const jobs: { probe: ProbeSpec; outcome: CellOutcome }[] = [];
  for (const probe of step.probes) {
    const name = probeName(probe);
    const reason = cluster.unsupported(probe);
    for (const cell of expectedCells(step.expect.get(name)!)) {
      const outcome: CellOutcome = { step: stepNo, ...cell, probe: name, got: "skipped" };
      if (reason !== undefined) {
        outcome.detail = reason;
        result.skipped.push(outcome);
      } else {
        jobs.push({ probe, outcome });
      }
    }
  }
  const run = async ({ probe, outcome }: (typeof jobs)[number]) => {
    try {
      const reached = await cluster.probe(outcome.from, outcome.to, probe, timeout);
      outcome.got = reached ? "." : "X";
    } catch (err) {
      outcome.got = "error";
      outcome.detail = message(err);
    }
  };
  await pool(jobs, opts.concurrency ?? 32, run);
  for (let i = 0; i < (opts.retries ?? 1); i++) {
    const lost = jobs.filter((j) => j.outcome.expected === "." && j.outcome.got === "X");
    await pool(lost, opts.concurrency ?? 32, run);
  }
  result.probed += jobs.length;
  const wrong = jobs.map((j) => j.outcome).filter((o) => o.got !== o.expected);
  result.mismatches.push(...wrong);
  for (const probe of new Set(wrong.map((o) => o.probe))) {
    const m = step.expect.get(probe)!;
    const got = new Map(
      jobs.filter((j) => j.outcome.probe === probe).map((j) => [
        `${j.outcome.from} ${j.outcome.to}`,
        j.outcome.got === "error" ? "E" : j.outcome.got,
      ]),
    );
    const matrix = renderMatrix(m.rows, m.cols, (from, to) => got.get(`${from} ${to}`) ?? "-");
    result.observed.push({ step: stepNo, probe, matrix });
  }
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
export async function pool<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(limit, 1), items.length) }, worker));
}

function describe(manifest: unknown): string {
  const m = manifest as { kind?: string; metadata?: { namespace?: string; name?: string } };
  const ns = m.metadata?.namespace;
  return `${m.kind} ${ns ? `${ns}/` : ""}${m.metadata?.name}`;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Expands directories to their *.yaml / *.yml files (sorted); files are kept as given. */
export async function findCaseFiles(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    if (!(await Deno.stat(path)).isDirectory) {
      out.push(path);
      continue;
    }
    const names: string[] = [];
    for await (const e of Deno.readDir(path)) {
      if (e.isFile && /\.ya?ml$/.test(e.name)) names.push(e.name);
    }
    out.push(...names.sort().map((n) => join(path, n)));
  }
  return out;
}
