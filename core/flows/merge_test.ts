import assert from "node:assert/strict";
import { mergeFlows } from "./merge.ts";
import { makeFlow } from "./_testing.ts";

const at = (s: number, node: string) => makeFlow({ at: s, node_name: node });
const label = (flows: ReturnType<typeof makeFlow>[]) =>
  flows.map((f) => `${f.node_name}@${f.time.slice(17, 19)}`);

Deno.test("mergeFlows() interleaves nodes by time and applies last/first to the whole", () => {
  const n1 = [at(1, "n1"), at(4, "n1"), at(6, "n1")];
  const n2 = [at(2, "n2"), at(3, "n2"), at(7, "n2")];
  assert.deepEqual(label(mergeFlows([n1, n2])), [
    "n1@43",
    "n2@44",
    "n2@45",
    "n1@46",
    "n1@48",
    "n2@49",
  ]);
  assert.deepEqual(label(mergeFlows([n1, n2], { last: 2 })), ["n1@48", "n2@49"]);
  assert.deepEqual(label(mergeFlows([n1, n2], { first: 2 })), ["n1@43", "n2@44"]);
  assert.deepEqual(mergeFlows([]), []);
});

Deno.test("mergeFlows() keeps a node's order for equal times", () => {
  const a = makeFlow({ at: 1, node_name: "a", uuid: "first" });
  const b = makeFlow({ at: 1, node_name: "a", uuid: "second" });
  assert.deepEqual(mergeFlows([[a, b]]).map((f) => f.uuid), ["first", "second"]);
});
