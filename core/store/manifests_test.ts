import assert from "node:assert/strict";
import { ManifestError, parseManifests } from "./manifests.ts";

const svc = (name: string) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: "x" },
  spec: { ports: [{ port: 80 }] },
});

Deno.test("parseManifests() reads YAML documents and JSON objects, arrays and Lists", () => {
  const yaml = parseManifests(
    "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Service\n" +
      "metadata: {name: b}\n",
    "s.yaml",
  );
  assert.deepEqual(yaml.map((m) => [m.metadata.name, m.source]), [
    ["a", "s.yaml document 1"],
    ["b", "s.yaml document 2"],
  ]);
  for (
    const text of [
      JSON.stringify([svc("a"), svc("b")]),
      JSON.stringify({ apiVersion: "v1", kind: "List", items: [svc("a"), svc("b")] }),
    ]
  ) {
    const json = parseManifests(text, "s.json");
    assert.deepEqual(json.map((m) => m.metadata.name), ["a", "b"]);
    assert.equal(json[1]!.source, "s.json document 2");
  }
  assert.equal(parseManifests(JSON.stringify(svc("one")), "one.json").length, 1);
});

Deno.test("parseManifests() names the file and document of bad input", () => {
  assert.throws(() => parseManifests("{not json", "bad.json"), ManifestError);
  assert.throws(
    () => parseManifests(JSON.stringify([svc("a"), { kind: "Service" }]), "s.json"),
    /s\.json document 2: field "apiVersion" is required/,
  );
});
