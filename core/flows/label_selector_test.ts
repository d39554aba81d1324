import assert from "node:assert/strict";
import { matchesLabels, parseLabelSelector } from "./label_selector.ts";

const WEB = ["k8s:app=web", "k8s:tier=frontend", "k8s:io.kubernetes.pod.namespace=shop"];
const WORLD = ["reserved:world"];

function sel(text: string) {
  const s = parseLabelSelector(text);
  if (typeof s === "string") throw new Error(s);
  return s;
}

Deno.test("matchesLabels() follows Kubernetes selector rules over Cilium labels", async (t) => {
  const cases: Array<[string, readonly string[], boolean]> = [
    ["app=web", WEB, true],
    ["app==web", WEB, true],
    ["app=db", WEB, false],
    ["k8s:app=web", WEB, true],
    ["any:app=web", WEB, true],
    ["container:app=web", WEB, false],
    ["app", WEB, true],
    ["!app", WEB, false],
    ["!owner", WEB, true],
    ["app!=db", WEB, true],
    ["app!=web", WEB, false],
    ["owner!=x", WEB, true],
    ["app in (db, web)", WEB, true],
    ["app in (db,cache)", WEB, false],
    ["app notin (db,cache)", WEB, true],
    ["app=web,tier=frontend", WEB, true],
    ["app=web,tier=backend", WEB, false],
    ["io.kubernetes.pod.namespace=shop", WEB, true],
    ["reserved:world", WORLD, true],
    ["world", WORLD, true],
    ["reserved:host", WORLD, false],
  ];
  for (const [text, labels, want] of cases) {
    await t.step(`${text} on ${labels[0]} -> ${want}`, () => {
      assert.equal(matchesLabels(sel(text), labels), want);
    });
  }
});

Deno.test("parseLabelSelector() says why a selector is bad", () => {
  assert.equal(parseLabelSelector("=web"), `"=web": missing the label key`);
  assert.equal(parseLabelSelector("app=web,"), "has an empty requirement (a stray comma?)");
  assert.equal(parseLabelSelector("app in (a,b"), 'has a "(" without ")"');
  assert.equal(parseLabelSelector("app in a,b)"), 'has a ")" without "("');
  assert.equal(
    parseLabelSelector("app in (a,,b)"),
    `"app in (a,,b)": the values in parentheses must be comma-separated label values`,
  );
  assert.equal(parseLabelSelector(":app"), `":app": missing the label source before ":"`);
  assert.match(parseLabelSelector("app=we b") as string, /is not a label requirement/);
});
