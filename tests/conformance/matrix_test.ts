import assert from "node:assert/strict";
import { Fields } from "./_fields.ts";
import { expectedCells, parseMatrix, renderMatrix } from "./matrix.ts";

const WHO = { pods: ["x/a", "x/b"], externals: ["ext/one"] };

Deno.test("expectedCells() lists every probed cell row by row and skips '-'", () => {
  const m = parseMatrix(
    ".   x/b x/a ext/one\nx/a .   -   X\nx/b -   X   .\n",
    WHO,
    new Fields("t.yaml"),
    "expect",
  );
  assert.deepEqual(expectedCells(m), [
    { from: "x/a", to: "x/b", expected: "." },
    { from: "x/a", to: "ext/one", expected: "X" },
    { from: "x/b", to: "x/a", expected: "X" },
    { from: "x/b", to: "ext/one", expected: "." },
  ]);
});

Deno.test("renderMatrix() aligns columns", () => {
  const text = renderMatrix(["x/a", "ext/one"], ["x/a", "x/b"], (f, t) => f === t ? "-" : ".");
  assert.equal(text, ".       x/a x/b\nx/a     -   .\next/one .   .");
});
