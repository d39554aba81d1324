import assert from "node:assert/strict";
import { Glob } from "./glob.ts";

Deno.test("Glob matches * as any run of characters, anchored at both ends", async (t) => {
  const cases: Array<[string, string, boolean]> = [
    ["node1", "node1", true],
    ["node1", "node10", false],
    ["node*", "node1", true],
    ["node*", "node", true],
    ["*", "", true],
    ["", "", true],
    ["", "x", false],
    ["*1", "node1", true],
    ["*1", "node12", false],
    ["lab/*", "lab/n1", true],
    ["*/n1", "lab-7f3a/n1", true],
    ["*/n1", "lab-7f3a/n10", false],
    ["n*e*1", "node1", true],
    ["a*a", "a", false],
    ["a*a", "aa", true],
    ["ab*ba", "aba", false],
    ["*aab*", "aaab", true],
    ["*abab*abac*", "abababacabac", true],
    ["**x**", "x", true],
    ["a*b*c", "acb", false],
    ["*.company.com", "k8s1.company.com", true],
    ["k8s*", "K8S1", false],
  ];
  for (const [pattern, text, want] of cases) {
    await t.step(`${pattern} ~ ${text || '""'}: ${want}`, () => {
      assert.equal(new Glob(pattern).matches(text), want);
    });
  }
});
