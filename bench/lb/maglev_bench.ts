// Maglev table builds and flow disruption. Build: time of maglevTable() for M=16381 with 100 and
// 1,000 backends and M=65537 with 1,000 (median and p99 after warm-up), beside Cilium's published
// figure. Disruption: 100,000 random 5-tuples hashed to a slot; the fraction whose backend changes
// when one of N backends is removed, beside the naive schemes: modulo-N (hash % N over the list)
// and random selection (every flow re-picks).
import { prng } from "../policy/fixtures.ts";
import { MAGLEV_DEFAULT_M, maglevTable } from "../../plugins/lb/maglev.ts";
import { newReport, type Report, row } from "../lib/report.ts";

const SEED = "bench-cluster";
const WARMUP = 10;
const RUNS = 100;
const FLOWS = 100_000;
/** Backends removed in turn (spread over the sorted list); the disruption is their mean. */
const REMOVALS = 5;
/** Cilium's published build time for M=16381 and 1,000 backends (not measured on this host). */
const CILIUM_16381_1000_MS = 8.2;

function backendNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `10.244.${i >> 8}.${i & 255}:8080/TCP`);
}

/** Nearest-rank percentile of ascending `sorted`. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

function buildTimes(n: number, m: number): { median: number; p99: number } {
  const names = backendNames(n);
  for (let i = 0; i < WARMUP; i++) maglevTable(names, m, SEED);
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    maglevTable(names, m, SEED);
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { median: percentile(ms, 0.5), p99: percentile(ms, 0.99) };
}

/** A murmur3-style hash of a 5-tuple, as a datapath would compute it to pick a slot. */
function tupleHash(saddr: number, daddr: number, ports: number, proto: number): number {
  let h = 0x1f2e3d4c;
  for (const w of [saddr, daddr, ports, proto]) {
    let k = Math.imul(w, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Hashes of FLOWS random TCP/UDP 5-tuples from pod addresses to service addresses. */
function flowHashes(): Uint32Array {
  const rand = prng(7);
  const u32 = () => Math.floor(rand() * 2 ** 32);
  const out = new Uint32Array(FLOWS);
  for (let i = 0; i < FLOWS; i++) {
    const ports = (u32() & 0xffff0000) | (80 + Math.floor(rand() * 8));
    out[i] = tupleHash(u32(), u32(), ports, rand() < 0.9 ? 6 : 17);
  }
  return out;
}

interface Disruption {
  maglev: number;
  moduloN: number;
}

/** Mean fraction of flows whose backend changes when one of `n` backends is removed. */
function disruption(flows: Uint32Array, n: number, m: number): Disruption {
  const names = backendNames(n);
  const before = maglevTable(names, m, SEED);
  let maglev = 0, moduloN = 0;
  for (let r = 0; r < REMOVALS; r++) {
    const removed = Math.floor((r * n) / REMOVALS);
    const rest = names.filter((_, i) => i !== removed);
    const after = maglevTable(rest, m, SEED);
    let movedMaglev = 0, movedModulo = 0;
    for (const h of flows) {
      const slot = h % m;
      if (names[before[slot]!] !== rest[after[slot]!]) movedMaglev++;
      if (names[h % n] !== rest[h % (n - 1)]) movedModulo++;
    }
    maglev += movedMaglev / flows.length;
    moduloN += movedModulo / flows.length;
  }
  return { maglev: maglev / REMOVALS, moduloN: moduloN / REMOVALS };
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

export function benchMaglevBuild(): Report {
  const report = newReport("lb_maglev_build", "Cilium (published)");
  const cases = [[100, MAGLEV_DEFAULT_M], [1000, MAGLEV_DEFAULT_M], [1000, 65537]] as const;
  for (const [n, m] of cases) {
    const t = buildTimes(n, m);
    const cilium = n === 1000 && m === 16381 ? CILIUM_16381_1000_MS : null;
    report.rows.push(
      row(`build M=${m} N=${n} (median)`, "ms", cilium, t.median, { lowerIsBetter: true }),
      row(`build M=${m} N=${n} (p99)`, "ms", null, t.p99),
    );
  }
  report.notes.push(
    `${RUNS} runs after ${WARMUP} warm-up runs; times cover sorting, hashing and filling the table`,
    "p99 is sensitive to other load on the host (GC pauses, CPU contention)",
    "the Cilium figure is its published anchor (Go, other hardware), not measured on this host",
  );
  return report;
}

export function benchMaglevDisruption(): Report {
  const flows = flowHashes();
  const report = newReport("lb_maglev_disruption", "modulo-N | random");
  const cases = [[10, 16381], [100, 16381], [1000, 16381], [100, 65537], [1000, 65537]] as const;
  for (const [n, m] of cases) {
    const d = disruption(flows, n, m);
    const goal = `<= ${pct(1 / n + 0.01)} (1/N + 1%)`;
    const random = 1 - 1 / n; // a re-picking flow lands on its old backend with probability 1/N
    const what = `remove 1 of N=${n}, M=${m}: flows moved`;
    const opts = { lowerIsBetter: true, goal };
    report.rows.push(
      row(`${what} (vs modulo-N)`, "%", d.moduloN * 100, d.maglev * 100, opts),
      row(`${what} (vs random)`, "%", random * 100, d.maglev * 100, opts),
    );
  }
  report.notes.push(
    `${FLOWS} random 5-tuples (seeded PRNG), slot = murmur3-style tuple hash mod M`,
    `mean over ${REMOVALS} removals of different backends; the ideal is 1/N`,
    "modulo-N: backend = list[hash % N], then list[hash % (N-1)] without the removed backend",
    "random: computed, 1 - 1/N (a flow that re-picks among N-1 keeps its backend with p = 1/N)",
    "ratio = baseline / maglev: how many times fewer flows Maglev moves",
  );
  return report;
}

/** Every Maglev report; for bench/main.ts. */
export function run(): Promise<Report[]> {
  return Promise.resolve([benchMaglevBuild(), benchMaglevDisruption()]);
}
