// Fuzzing the filter parser and matcher with random and adversarial input, as a client may send
// it. What holds for every input: the parser answers a FlowFilterError naming a field or a query
// within the caps (never another error, never a hang); a compiled filter never throws on a flow;
// and the work per flow is bounded without timing anything (timed assertions flake on a shared
// machine). The bound is by construction plus counting: every check a filter makes per flow is a
// set lookup, a prefix test, a CIDR test or a label comparison over at most MAX_FILTER_VALUES
// values and MAX_LABEL_REQUIREMENTS requirements; the one algorithm whose cost depends on the
// pattern, the node name glob, counts its character comparisons (Glob.steps), and they must stay
// within 2 x |name| + 2 for every pattern. The inputs come from a seeded generator: a failure
// reproduces with the seed it prints.
import assert from "node:assert/strict";
import {
  compileFilters,
  FILTER_FLAGS,
  FlowFilterError,
  MAX_FILTER_VALUE_LENGTH,
  MAX_FILTER_VALUES,
} from "./filter.ts";
import { Glob } from "./glob.ts";
import { parseFlowQuery } from "./query.ts";
import { makeFlow } from "./_testing.ts";
import type { Flow } from "./flow.ts";

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 20261207);

/** mulberry32: a small seeded generator, so every run tries the same inputs. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const text = (alphabet: string, max: number) =>
    Array.from({ length: int(max + 1) }, () => alphabet[int(alphabet.length)]).join("");
  return { next, int, pick, text };
}

/** What `*`-only globs mean, by dynamic programming (O(|p| x |t|)): the reference. */
function referenceMatch(pattern: string, text: string): boolean {
  let row = Array.from({ length: text.length + 1 }, (_, j) => j === 0);
  for (const c of pattern) {
    const next = new Array<boolean>(text.length + 1).fill(false);
    next[0] = c === "*" && row[0]!;
    for (let j = 1; j <= text.length; j++) {
      next[j] = c === "*" ? row[j]! || next[j - 1]! : row[j - 1]! && text[j - 1] === c;
    }
    row = next;
  }
  return row[text.length]!;
}

/** The patterns that make backtracking matchers blow up, against names that almost match. */
function adversarialGlobs(): Array<[string, string]> {
  const name40 = "lab-1234/" + "a".repeat(31);
  return [
    ["*a".repeat(16) + "!", name40], // the case: 16 stars, ~40 bytes
    ["*a".repeat(16) + "*b", name40],
    ["*" + "a*".repeat(100) + "b", "a".repeat(200)],
    ["*" + "a".repeat(30) + "b*", "a".repeat(250)], // KMP's worst case: long partial matches
    ["*" + "ab".repeat(20) + "c", "ab".repeat(120)],
    ["*".repeat(256), "x".repeat(250)],
    ["a*".repeat(128), "a".repeat(127) + "b"],
  ];
}

function checkGlob(pattern: string, text: string, where: string): void {
  const g = new Glob(pattern);
  const got = g.matches(text);
  assert.equal(got, referenceMatch(pattern, text), `${where}: "${pattern}" ~ "${text}"`);
  assert.ok(
    g.steps <= 2 * text.length + 2,
    `${where}: "${pattern}" ~ "${text}" took ${g.steps} steps, more than 2 x ${text.length} + 2`,
  );
}

Deno.test(`Glob agrees with the reference and stays linear (seed ${SEED})`, () => {
  const r = random(SEED);
  for (let i = 0; i < 20_000; i++) {
    // a 2-letter alphabet makes overlaps (and KMP fallbacks) likely
    checkGlob(r.text("ab*", 1 + r.int(24)), r.text("ab", r.int(60)), `random #${i}`);
  }
  for (const [pattern, text] of adversarialGlobs()) checkGlob(pattern, text, "adversarial");
});

/** Characters that mean something to some parser: selectors, pods, globs, CIDRs, times. */
const NASTY = "ab01*/(),=!:.- \t\n%&?#[]{}\\\"'é\u0000";
const FLAGS = Object.values(FILTER_FLAGS);

function randomValue(r: ReturnType<typeof random>): string {
  switch (r.int(6)) {
    case 0:
      return r.text(NASTY, 40);
    case 1: // long and repetitive, sometimes over the cap
      return r.pick(["*a", "a,", "a in (", "(", "1m", "a=b,", "x/", "1."]).repeat(
        1 + r.int(MAX_FILTER_VALUE_LENGTH / 2 + 20),
      );
    case 2:
      return r.pick(["shop/web", "app=web", "k8s:app in (web,db)", "10.0.0.0/8", "5432"]);
    case 3:
      return r.pick(["FORWARDED", "dropped", "trace:to-endpoint", "tcp", "node*", "egress"]);
    case 4:
      return r.pick(["5m", "1h30m", "2026-12-05T10:15:42Z", "1"]) + r.text(NASTY, 3);
    default:
      return "*a".repeat(r.int(40)) + r.text("ab!", 4);
  }
}

function randomQuery(r: ReturnType<typeof random>): URLSearchParams {
  const params = new URLSearchParams();
  const n = r.int(8) === 0 ? MAX_FILTER_VALUES + r.int(40) : r.int(6);
  for (let i = 0; i < n; i++) {
    const name = r.int(10) === 0
      ? r.pick(["since", "until", "last", "first", r.text(NASTY, 12)])
      : (r.int(4) === 0 ? "not-" : "") + r.pick(FLAGS);
    params.append(name, randomValue(r));
  }
  return params;
}

function corpus(): Flow[] {
  const flows: Flow[] = [];
  for (let i = 0; i < 50; i++) {
    flows.push(makeFlow({
      at: i,
      node_name: i % 2 ? "lab-1234/" + "a".repeat(31) : `cluster/n${i}`,
      verdict: i % 3 ? "FORWARDED" : "DROPPED",
      source: { namespace: i % 4 ? "shop" : "", pod_name: i % 5 ? `web-${i}` : "" },
      destination: { labels: i % 2 ? [] : ["k8s:app=db", "reserved:world", "odd"] },
      ...(i % 7 ? {} : { l4: { UDP: { source_port: 53, destination_port: 1000 + i } } }),
      ...(i % 11 ? {} : { IP: { source: "fd00::1", destination: "not an ip", ipVersion: "IPv6" } }),
    }));
  }
  return flows;
}

Deno.test(`parseFlowQuery() and compiled filters survive random and adversarial queries (seed ${SEED})`, () => {
  const r = random(SEED + 1);
  const flows = corpus();
  let accepted = 0;
  for (let i = 0; i < 3000; i++) {
    const params = randomQuery(r);
    let filters;
    try {
      filters = parseFlowQuery(params, Date.UTC(2026, 11, 5)).filters;
    } catch (err) {
      assert.ok(err instanceof FlowFilterError, `#${i} ${String(params).slice(0, 200)}: ${err}`);
      assert.ok(
        err.field.length > 0 && err.field.length <= 64,
        `#${i}: field "${err.field}" for ${String(params).slice(0, 200)}: ${err.message}`,
      );
      assert.ok(err.message.length <= 600, `#${i}: a ${err.message.length}-character message`);
      continue;
    }
    accepted++;
    const values = [...(filters.allow ?? []), ...(filters.deny ?? [])]
      .flatMap((f) => Object.values(f).flat() as string[]);
    assert.ok(values.length <= MAX_FILTER_VALUES, `#${i}: ${values.length} values`);
    assert.ok(values.every((v) => v.length <= MAX_FILTER_VALUE_LENGTH));
    const match = compileFilters(filters);
    for (const f of flows) assert.equal(typeof match(f), "boolean");
  }
  assert.ok(accepted > 300, `only ${accepted} of 3000 random queries were valid: fuzz more kinds`);
});

Deno.test("the 16-star node filter of issue 11 runs over a full store at glob cost", () => {
  const pattern = "*a".repeat(16) + "!";
  const names = Array.from({ length: 100 }, (_, i) => `lab-${i}/` + "a".repeat(31));
  const match = compileFilters({ allow: [{ node_name: [pattern] }] });
  // 10,000 flows over 100 distinct names: with the backtracking regular expression each of
  // them took seconds (a test timeout); each name costs at most 2 x |name| + 2 comparisons now.
  let kept = 0;
  for (let i = 0; i < 10_000; i++) {
    if (match(makeFlow({ node_name: names[i % names.length]! }))) kept++;
  }
  assert.equal(kept, 0);
  const g = new Glob(pattern);
  for (const name of names) {
    assert.equal(g.matches(name), false);
    assert.ok(g.steps <= 2 * name.length + 2, `${g.steps} steps for a ${name.length}-byte name`);
  }
});
