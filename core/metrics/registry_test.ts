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
