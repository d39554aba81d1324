// The record reconciler with a minimal kind: reads once per revision, a read or check that
// throws rejects only its record, and a re-list reads again only what changed.
import assert from "node:assert/strict";
import { createLogger } from "../../log.ts";
import { createState, Table } from "../../state/mod.ts";
import { type KindSpec, RecordReconciler } from "./reconciler.ts";
import { Rejections } from "./rejections.ts";

function setup() {
  const state = createState();
  const table = new Table<number>("numbers");
  let reads = 0;
  const spec: KindSpec<number, number> = {
    kind: "Pod",
    prefix: "/p/",
    table,
    rowKey: (s) => s,
    name: (s) => ({ namespace: "", name: s }),
    read: (_s, value) => {
      reads++;
      if (value === "boom") throw new Error("reader bug");
      const n = Number(value);
      return Number.isInteger(n) ? { ok: true, value: n } : {
        ok: false,
        issues: [{ path: "", message: `Not a number: ${value}` }],
      };
    },
    check: (_s, n) => {
      if (n === 13) throw new Error("check bug");
      return n < 0 ? [{ path: "", message: "Must not be negative" }] : [];
    },
    row: (_s, n) => n,
    owns: () => true,
  };
  const log = createLogger("t", "error", () => {});
  const r = new RecordReconciler([spec as KindSpec], new Rejections(state.rejected, log), log);
  return { state, table, r, reads: () => reads };
}

const kv = (key: string, value: string, rev: number) => ({
  key: `/p/${key}`,
  value,
  modRevision: BigInt(rev),
});

Deno.test("RecordReconciler rejects only the record whose read or check throws", () => {
  const { state, table, r } = setup();
  r.replaceAll([kv("a", "1", 1), kv("b", "boom", 2), kv("c", "13", 3), kv("d", "-1", 4)]);
  assert.deepEqual(table.entries(), [["a", 1]]);
  assert.match(state.rejected.get("Pod/b")!.issues[0]!.message, /^Unreadable: Error: reader bug/);
  assert.match(
    state.rejected.get("Pod/c")!.issues[0]!.message,
    /^Could not be checked: .*check bug/,
  );
  assert.equal(state.rejected.get("Pod/d")!.issues[0]!.message, "Must not be negative");
});

Deno.test("RecordReconciler reads a re-listed record again only when its revision changed", () => {
  const { table, r, reads } = setup();
  r.replaceAll([kv("a", "1", 1), kv("b", "2", 2)]);
  assert.equal(reads(), 2);
  r.replaceAll([kv("a", "1", 1), kv("b", "3", 5)]);
  assert.equal(reads(), 3);
  assert.deepEqual(table.entries(), [["a", 1], ["b", 3]]);
  r.replaceAll([kv("b", "3", 5)]);
  assert.deepEqual(table.entries(), [["b", 3]], "a key gone from the listing is removed");
});
