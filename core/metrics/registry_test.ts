import assert from "node:assert/strict";
import { Metrics } from "./registry.ts";

Deno.test("Metrics.render() writes the Prometheus text format with escaped labels", () => {
  const m = new Metrics();
  const c = m.counter("hypha_things_total", "Things seen.");
  c.inc({ kind: 'a"b' });
  c.inc({ kind: 'a"b' }, 2);
  m.gauge("hypha_up", "1 when up.").set({}, 1);
  m.collector("hypha_bytes_total", "Bytes.", "counter", () => [[{ dir: "in" }, 42]]);
  assert.equal(
    m.render(),
    [
      "# HELP hypha_bytes_total Bytes.",
      "# TYPE hypha_bytes_total counter",
      'hypha_bytes_total{dir="in"} 42',
      "# HELP hypha_things_total Things seen.",
      "# TYPE hypha_things_total counter",
      'hypha_things_total{kind="a\\"b"} 3',
      "# HELP hypha_up 1 when up.",
      "# TYPE hypha_up gauge",
      "hypha_up 1",
      "",
    ].join("\n"),
  );
});

Deno.test("Metrics rejects bad names and counters without _total", () => {
  const m = new Metrics();
  assert.throws(() => m.counter("hypha_things", "x"), /must end in _total/);
  assert.throws(() => m.gauge("bad-name", "x"), /Invalid metric name/);
  m.gauge("hypha_x", "x");
  assert.throws(() => m.counter("hypha_x", "x"), /_total|already registered/);
});

Deno.test("Metrics.histogram() renders cumulative buckets, +Inf, sum and count", () => {
  const m = new Metrics();
  const h = m.histogram("hypha_op_duration_seconds", "How long.", [0.01, 0.1]);
  h.observe({ op: "a" }, 0.005);
  h.observe({ op: "a" }, 0.05);
  h.observe({ op: "a" }, 3);
  assert.equal(
    m.render(),
    [
      "# HELP hypha_op_duration_seconds How long.",
      "# TYPE hypha_op_duration_seconds histogram",
      'hypha_op_duration_seconds_bucket{op="a",le="0.01"} 1',
      'hypha_op_duration_seconds_bucket{op="a",le="0.1"} 2',
      'hypha_op_duration_seconds_bucket{op="a",le="+Inf"} 3',
      'hypha_op_duration_seconds_sum{op="a"} 3.055',
      'hypha_op_duration_seconds_count{op="a"} 3',
      "",
    ].join("\n"),
  );
  assert.throws(() => m.histogram("hypha_x", "x", [1, 1]), /ascending/);
});
