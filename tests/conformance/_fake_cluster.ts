// An in-memory ConformanceCluster for the runner's own tests. Its "policy" is deliberately tiny:
// a `kind: FakeDeny` manifest blocks traffic to the pods it names (`spec.to: [x/a]`) or whose
// labels include `spec.toLabels`, optionally for one probe (`spec.probe: 80/TCP`). That is
// enough to observe that applies, label changes and deletes reach the cluster in order.
import type { ConformanceCluster, ProbeSpec } from "./cluster.ts";
import { probeName } from "./probe.ts";

type Labels = Record<string, string>;

interface FakeDenySpec {
  to?: string[];
  toLabels?: Labels;
  probe?: string;
}

export interface FakeOptions {
  nodes?: number;
  unsupported?: (probe: ProbeSpec) => string | undefined;
  /** Rejects a manifest with this message (default: ones with `spec.rules`, like L7 rules). */
  reject?: (manifest: Record<string, unknown>) => string | undefined;
  /** Overrides the FakeDeny verdict (e.g. to simulate a broken datapath). */
  reach?: (from: string, to: string, probe: ProbeSpec, verdict: boolean) => boolean;
  probeDelayMs?: number;
}

export class FakeCluster implements ConformanceCluster {
  readonly nodeCount: number;
  readonly log: string[] = [];
  readonly namespaces = new Map<string, Labels>();
  readonly pods = new Map<string, { labels: Labels; node: number; ip: string; serve: string[] }>();
  readonly externals = new Map<string, { ip: string; serve: string[] }>();
  readonly manifests = new Map<string, Record<string, unknown>>();
  readonly probed: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  #nextIp = 10;

  constructor(readonly opts: FakeOptions = {}) {
    this.nodeCount = opts.nodes ?? 2;
  }

  unsupported(probe: ProbeSpec): string | undefined {
    return this.opts.unsupported?.(probe);
  }

  createNamespace(name: string, labels: Labels): Promise<void> {
    this.log.push(`namespace ${name}`);
    this.namespaces.set(name, labels);
    return Promise.resolve();
  }

  setNamespaceLabels(name: string, labels: Labels): Promise<void> {
    this.log.push(`label namespace ${name}`);
    this.namespaces.set(name, labels);
    return Promise.resolve();
  }

  createPod(
    key: string,
    o: { labels: Labels; node: number; serve: ProbeSpec[] },
  ): Promise<{ ip: string }> {
    const ip = `10.244.${o.node}.${this.#nextIp++}`;
    this.log.push(`pod ${key} node ${o.node}`);
    this.pods.set(key, { labels: o.labels, node: o.node, ip, serve: o.serve.map(probeName) });
    return Promise.resolve({ ip });
  }

  setPodLabels(key: string, labels: Labels): Promise<void> {
    this.log.push(`label pod ${key}`);
    this.pods.get(key)!.labels = labels;
    return Promise.resolve();
  }

  createExternal(key: string, ip: string, serve: ProbeSpec[]): Promise<void> {
    this.log.push(`external ${key}`);
    this.externals.set(key, { ip, serve: serve.map(probeName) });
    return Promise.resolve();
  }

  apply(manifest: unknown): Promise<void> {
    const m = manifest as Record<string, unknown>;
    const why = (this.opts.reject ?? defaultReject)(m);
    if (why) return Promise.reject(new Error(why));
    const key = refKey(m.kind as string, m.metadata as { namespace?: string; name: string });
    this.log.push(`apply ${key}`);
    this.manifests.set(key, m);
    return Promise.resolve();
  }

  delete(ref: { kind: string; namespace?: string; name: string }): Promise<void> {
    this.log.push(`delete ${refKey(ref.kind, ref)}`);
    this.manifests.delete(refKey(ref.kind, ref));
    return Promise.resolve();
  }

  settle(): Promise<void> {
    this.log.push("settle");
    return Promise.resolve();
  }

  async probe(from: string, to: string, probe: ProbeSpec, _timeoutMs: number): Promise<boolean> {
    this.probed.push(`${from} -> ${to} ${probeName(probe)}`);
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    await new Promise((r) => setTimeout(r, this.opts.probeDelayMs ?? 0));
    this.inFlight--;
    const verdict = !this.#denied(to, probe);
    return this.opts.reach ? this.opts.reach(from, to, probe, verdict) : verdict;
  }

  reset(): Promise<void> {
    this.log.push("reset");
    for (const m of [this.namespaces, this.pods, this.externals, this.manifests]) m.clear();
    return Promise.resolve();
  }

  #denied(to: string, probe: ProbeSpec): boolean {
    const labels = this.pods.get(to)?.labels ?? {};
    return [...this.manifests.values()].some((m) => {
      if (m.kind !== "FakeDeny") return false;
      const spec = m.spec as FakeDenySpec;
      if (spec.probe && spec.probe !== probeName(probe)) return false;
      if (spec.to?.includes(to)) return true;
      return spec.toLabels !== undefined &&
        Object.entries(spec.toLabels).every(([k, v]) => labels[k] === v);
    });
  }
}

function defaultReject(m: Record<string, unknown>): string | undefined {
  const spec = m.spec as Record<string, unknown> | undefined;
  return spec?.rules ? "spec.rules: L7 rules are not supported" : undefined;
}

function refKey(kind: string, meta: { namespace?: string; name: string }): string {
  return `${kind} ${meta.namespace ? `${meta.namespace}/` : ""}${meta.name}`;
}
