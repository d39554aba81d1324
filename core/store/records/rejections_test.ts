// Reports of rejected records: always in the table, in the log at most once per record per
// interval and a few lines per second overall, with a count of what was left out.
import assert from "node:assert/strict";
import { createLogger } from "../../log.ts";
import { createState, type RejectedRecord } from "../../state/mod.ts";
import { Rejections } from "./rejections.ts";

const bad = (name: string, message = "Invalid JSON"): RejectedRecord => ({
  kind: "Node",
  namespace: "",
  name,
  source: `/hypha/c/nodes/${name}`,
  issues: [{ path: "", message }],
});

Deno.test("Rejections logs each record at most once per interval, and few lines per second", () => {
  const state = createState();
  const lines: string[] = [];
  let now = 1_000_000;
  const r = new Rejections(state.rejected, createLogger("n1", "info", (l) => lines.push(l)), {
    perRecordMs: 60_000,
    perSecond: 3,
    now: () => now,
  });
  r.reject(bad("a"));
  r.reject(bad("a", "Another problem")); // the table follows, the log does not repeat
  assert.equal(state.rejected.get("Node/a")?.issues[0]?.message, "Another problem");
  assert.equal(lines.length, 1);
  for (let i = 0; i < 10; i++) r.reject(bad(`b${i}`));
  assert.equal(state.rejected.size, 11, "every record is in the table");
  assert.equal(lines.length, 3, "3 lines in this second");
  now += 1_000;
  r.reject(bad("c"));
  assert.match(lines.at(-1)!, /notLogged=8/);
  now += 60_000;
  r.reject(bad("a", "A third problem"));
  assert.match(lines.at(-1)!, /A third problem/);
  r.clear("Node/a");
  assert.match(lines.at(-1)!, /Node record no longer rejected/);
  assert.equal(state.rejected.get("Node/a"), undefined);
  r.retain(["Node"], (key) => key === "Node/c");
  assert.deepEqual(state.rejected.list().map((x) => x.name), ["c"]);
});
