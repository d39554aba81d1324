import assert from "node:assert/strict";
import { CniError } from "./errors.ts";
import {
  checkArgsLabels,
  checkLabelMap,
  labelKeyProblem,
  labelsFor,
  labelValueProblem,
} from "./labels.ts";

Deno.test("labelsFor() merges labels < args.cni.labels < runtimeConfig.labels", () => {
  const conf = {
    labels: { app: "net", tier: "base", team: "a" },
    args: { cni: { labels: [{ key: "tier", value: "args" }, { key: "env", value: "prod" }] } },
    runtimeConfig: { labels: { tier: "runtime" } },
  };
  assert.deepEqual(labelsFor(conf, {}), {
    labels: { app: "net", tier: "runtime", team: "a", env: "prod" },
  });
});

Deno.test("labelsFor() accepts args.cni.labels as a map too", () => {
  assert.deepEqual(labelsFor({ args: { cni: { labels: { a: "1" } } } }, {}).labels, { a: "1" });
  assert.deepEqual(labelsFor({}, {}).labels, {});
});

Deno.test("labelsFor() returns the pod namespace and name from CNI_ARGS, not as labels", () => {
  const out = labelsFor({ labels: { app: "web" } }, {
    IgnoreUnknown: "1",
    K8S_POD_NAMESPACE: "shop",
    K8S_POD_NAME: "web-0",
  });
  assert.deepEqual(out, { labels: { app: "web" }, namespace: "shop", name: "web-0" });
  assert.deepEqual(labelsFor({}, { K8S_POD_NAMESPACE: "", K8S_POD_NAME: "" }), { labels: {} });
});

Deno.test("labelKeyProblem() and labelValueProblem() follow Kubernetes label syntax", async (t) => {
  const keys: Array<[string, boolean]> = [
    ["app", true],
    ["app.kubernetes.io/name", true],
    ["a-b_c.d", true],
    ["A9", true],
    ["", false],
    ["-app", false],
    ["app-", false],
    ["Example.com/app", false], // prefix is a lower-case DNS subdomain
    ["a/b/c", false],
    ["/app", false],
    ["x".repeat(63), true],
    ["x".repeat(64), false],
    [`${"p".repeat(254)}/app`, false],
  ];
  for (const [key, ok] of keys) {
    await t.step(`key ${JSON.stringify(key.slice(0, 20))}`, () => {
      assert.equal(labelKeyProblem(key) === undefined, ok, labelKeyProblem(key));
    });
  }
  const values: Array<[string, boolean]> = [["", true], ["v1.2", true], ["-v", false], [
    "a b",
    false,
  ], [
    "v".repeat(64),
    false,
  ]];
  for (const [value, ok] of values) {
    await t.step(`value ${JSON.stringify(value.slice(0, 20))}`, () => {
      assert.equal(labelValueProblem(value) === undefined, ok);
    });
  }
});

Deno.test("checkLabelMap() and checkArgsLabels() name the field with code 7", async (t) => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    [
      "not an object",
      () => checkLabelMap("labels", ["a"]),
      /^Invalid network configuration field "labels": must be an object of string labels, got \["a"\]$/,
    ],
    [
      "bad key",
      () => checkLabelMap("labels", { "-a": "x" }),
      /^Invalid network configuration field "labels.-a": label key "-a": the name must be/,
    ],
    [
      "non-string value",
      () => checkLabelMap("runtimeConfig.labels", { a: 1 }),
      /field "runtimeConfig.labels.a": must be a string, got 1$/,
    ],
    [
      "bad value",
      () => checkLabelMap("labels", { a: "x y" }),
      /field "labels.a": label value "x y": must be empty or/,
    ],
    [
      "bad list item",
      () => checkArgsLabels("args.cni.labels", [{ k: "a" }]),
      /field "args.cni.labels\[0\]": must be \{ "key": string, "value": string \}/,
    ],
    [
      "bad list value",
      () => checkArgsLabels("args.cni.labels", [{ key: "a", value: 2 }]),
      /field "args.cni.labels\[0\]": must be a string, got 2$/,
    ],
  ];
  for (const [name, fn, message] of cases) {
    await t.step(name, () => {
      assert.throws(
        fn,
        (e: unknown) => e instanceof CniError && e.code === 7 && message.test(e.msg),
      );
    });
  }
});
