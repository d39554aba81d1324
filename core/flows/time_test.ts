import assert from "node:assert/strict";
import {
  flowTimeMs,
  formatRfc3339,
  parseDuration,
  parseRfc3339,
  parseTimeFlag,
  TIME_FORMS,
} from "./time.ts";

const NOW = Date.UTC(2026, 11, 5, 12, 0, 0);

Deno.test("parseRfc3339() keeps nanoseconds as a fraction and applies offsets", () => {
  const base = Date.UTC(2026, 11, 5, 10, 15, 42);
  assert.equal(parseRfc3339("2026-12-05T10:15:42Z"), base);
  assert.equal(parseRfc3339("2026-12-05T10:15:42.123456789Z"), base + 123.456789);
  assert.equal(parseRfc3339("2026-12-05T11:15:42+01:00"), base);
  assert.ok(Number.isNaN(parseRfc3339("2026-02-30T00:00:00Z")), "no February 30th");
  assert.ok(Number.isNaN(parseRfc3339("2026-02-29T00:00:00Z")), "2026 is no leap year");
  assert.equal(parseRfc3339("2028-02-29T00:00:00Z"), Date.UTC(2028, 1, 29));
  assert.equal(parseRfc3339("2026-12-05T10:15:42.5Z"), base + 500);
  for (
    const bad of [
      "2026-12-05T10:15:42.Z",
      "2026-12-05T10:15:42.1234567890Z",
      "2026-12-05T24:00:00Z",
      "2026-12-05T10:60:00Z",
      "2026-12-05T10:15:4xZ",
    ]
  ) {
    assert.ok(Number.isNaN(parseRfc3339(bad)), bad);
  }
  assert.ok(Number.isNaN(parseRfc3339("yesterday")));
  assert.equal(flowTimeMs({ time: "garbage" }), 0);
});

Deno.test("parseDuration() reads Go durations and days", () => {
  assert.equal(parseDuration("5m"), 300_000);
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("1.5s"), 1500);
  assert.equal(parseDuration("2d"), 172_800_000);
  assert.equal(parseDuration("500ms"), 500);
  for (const bad of ["", "5", "m", "-5m", "5 m", "5x"]) assert.equal(parseDuration(bad), undefined);
});

Deno.test("parseTimeFlag() takes durations before now, RFC 3339 and dates", async (t) => {
  await t.step("forms", () => {
    assert.equal(parseTimeFlag("5m", NOW), NOW - 300_000);
    assert.equal(parseTimeFlag("2026-12-05T10:00:00Z", NOW), Date.UTC(2026, 11, 5, 10));
    assert.equal(parseTimeFlag("2026-12-05", NOW), Date.UTC(2026, 11, 5));
    assert.equal(parseTimeFlag("2026-12-05T10:30", NOW), Date.UTC(2026, 11, 5, 10, 30));
  });
  await t.step("errors say which forms are accepted", () => {
    assert.equal(parseTimeFlag("5 minutes", NOW), `must be ${TIME_FORMS}`);
    assert.equal(parseTimeFlag("2026-13-05", NOW), `is not a valid date: ${TIME_FORMS}`);
    assert.equal(parseTimeFlag("2026-12-05T25:00:00Z", NOW), `is not a valid time: ${TIME_FORMS}`);
  });
});

Deno.test("formatRfc3339() round-trips through parseRfc3339()", () => {
  // A float of epoch milliseconds holds about a quarter of a microsecond, not nanoseconds.
  const t = Date.UTC(2026, 11, 5, 10, 15, 42) + 123.456;
  const text = formatRfc3339(t);
  assert.equal(text, "2026-12-05T10:15:42.123456000Z");
  assert.ok(Math.abs(parseRfc3339(text) - t) < 1e-6);
});
