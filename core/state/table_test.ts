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
