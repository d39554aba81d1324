import assert from "node:assert/strict";
import { rejectedSection } from "./rejected.ts";

Deno.test("rejectedSection() prints one line per problem, naming the record and its source", () => {
  assert.equal(rejectedSection([]), "");
  assert.equal(
    rejectedSection([{
      kind: "Node",
      namespace: "",
      name: "n2",
      source: "/hypha/c/nodes/n2",
      issues: [
        { path: "podCIDRs[0]", message: 'Invalid CIDR "x": missing "/prefix-length"' },
        { path: "", message: "Record is 70000 characters long; at most 65536 are accepted" },
      ],
      keeping: true,
    }, {
      kind: "Pod",
      namespace: "default",
      name: "web",
      source: "pods.yaml document 1",
      issues: [{ path: "metadata.labels", message: "Must be an object" }],
      keeping: false,
    }]),
    [
      "",
      "Rejected records (2), not used until fixed or removed:",
      '  Node "n2" (/hypha/c/nodes/n2) [its last accepted version stays in force]: podCIDRs[0]: ' +
      'Invalid CIDR "x": missing "/prefix-length"',
      '  Node "n2" (/hypha/c/nodes/n2) [its last accepted version stays in force]: (record): ' +
      "Record is 70000 characters long; at most 65536 are accepted",
      '  Pod "default/web" (pods.yaml document 1): metadata.labels: Must be an object',
    ].join("\n"),
  );
});
