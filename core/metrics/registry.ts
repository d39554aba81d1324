// A small metrics registry rendering the Prometheus text exposition format (version 0.0.4).
// Names follow Prometheus conventions with the `hypha_` prefix; counters end in `_total`.

export type Labels = Record<string, string>;
type Kind = "counter" | "gauge";

interface Histogram {
  buckets: number[];
  /** Per label set: counts per bucket (not cumulative), sum and count. */
  series: Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>;
}

interface Family {
  name: string;
  help: string;
  kind: Kind | "histogram";
  histogram?: Histogram;
  /** Collected at scrape time (for values that live in BPF maps or elsewhere). */
  collect?: () => Array<[Labels, number]>;
  values: Map<string, [Labels, number]>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

export class Metrics {
  readonly #families = new Map<string, Family>();

  #family(name: string, help: string, kind: Family["kind"]): Family {
    if (!NAME.test(name)) throw new Error(`Invalid metric name "${name}"`);
    if (kind === "counter" && !name.endsWith("_total")) {
      throw new Error(`Counter "${name}" must end in _total`);
    }
    let f = this.#families.get(name);
    if (!f) {
      f = { name, help, kind, values: new Map() };
      this.#families.set(name, f);
    } else if (f.kind !== kind) {
      throw new Error(`Metric "${name}" is already registered as a ${f.kind}`);
    }
    return f;
  }

  counter(name: string, help: string) {
    const f = this.#family(name, help, "counter");
    return {
      inc: (labels: Labels = {}, by = 1) => {
        const key = JSON.stringify(labels);
        const cur = f.values.get(key)?.[1] ?? 0;
        f.values.set(key, [labels, cur + by]);
      },
    };
  }

  gauge(name: string, help: string) {
    const f = this.#family(name, help, "gauge");
    return {
      set: (labels: Labels, value: number) => f.values.set(JSON.stringify(labels), [labels, value]),
    };
  }

  /**
   * A histogram with upper bounds `buckets` (ascending; +Inf is added): `_bucket{le}` counts
   * are cumulative, with `_sum` and `_count`, as Prometheus expects.
   */
  histogram(name: string, help: string, buckets: number[]) {
    if (name.endsWith("_total")) throw new Error(`Histogram "${name}" must not end in _total`);
    if (buckets.some((b, i) => i > 0 && b <= buckets[i - 1]!)) {
      throw new Error(`Histogram "${name}": buckets must be ascending`);
    }
    const f = this.#family(name, help, "histogram");
    const h = f.histogram ??= { buckets, series: new Map() };
    return {
      observe: (labels: Labels, value: number) => {
        const key = JSON.stringify(labels);
        let s = h.series.get(key);
        if (!s) {
          s = { labels, counts: new Array(h.buckets.length).fill(0), sum: 0, count: 0 };
          h.series.set(key, s);
        }
        const i = h.buckets.findIndex((b) => value <= b);
        if (i >= 0) s.counts[i] = s.counts[i]! + 1;
        s.sum += value;
        s.count++;
      },
    };
  }

  /** A family whose samples are read when scraped; `unregister` removes it. */
  collector(
    name: string,
    help: string,
    kind: Kind,
    collect: () => Array<[Labels, number]>,
  ): () => void {
    const f = this.#family(name, help, kind);
    f.collect = collect;
    return () => this.#families.delete(name);
  }

  render(): string {
    const out: string[] = [];
    for (const f of [...this.#families.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      out.push(`# HELP ${f.name} ${f.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
      out.push(`# TYPE ${f.name} ${f.kind}`);
      const sample = (name: string, labels: Labels, value: number) => {
        const l = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",");
        out.push(`${name}${l ? `{${l}}` : ""} ${formatValue(value)}`);
      };
      if (f.histogram) {
        for (const s of f.histogram.series.values()) {
          let cumulative = 0;
          f.histogram.buckets.forEach((le, i) => {
            cumulative += s.counts[i]!;
            sample(`${f.name}_bucket`, { ...s.labels, le: String(le) }, cumulative);
          });
          sample(`${f.name}_bucket`, { ...s.labels, le: "+Inf" }, s.count);
          sample(`${f.name}_sum`, s.labels, s.sum);
          sample(`${f.name}_count`, s.labels, s.count);
        }
        continue;
      }
      const samples = f.collect ? f.collect() : [...f.values.values()];
      for (const [labels, value] of samples) sample(f.name, labels, value);
    }
    return out.join("\n") + "\n";
  }
}
