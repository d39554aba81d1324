import assert from "node:assert/strict";
import { type Change, Table } from "./table.ts";

Deno.test("upsertChanged writes and notifies only when the row's content changes", () => {
  const t = new Table<{ a: number }>("t");
  const seen: Change<{ a: number }>["kind"][] = [];
  t.subscribe((c) => seen.push(c.kind));
  assert.equal(t.upsertChanged("k", { a: 1 }), true);
  assert.equal(t.upsertChanged("k", { a: 1 }), false);
  assert.equal(t.upsertChanged("k", { a: 2 }), true);
  assert.deepEqual(t.get("k"), { a: 2 });
  assert.deepEqual(seen, ["upsert", "upsert"]);
  assert.equal(t.revision, 2);
});

Deno.test("a subscriber that throws does not keep the others from hearing of the change", () => {
  const t = new Table<number>("t");
  const heard: string[] = [];
  t.subscribe(() => {
    throw new Error("boom");
  });
  t.subscribe((c) => heard.push(c.key));
  assert.throws(() => t.upsert("k", 1), /A subscriber of table t failed on "k": Error: boom/);
  assert.deepEqual(heard, ["k"]);
  assert.equal(t.get("k"), 1);
});
