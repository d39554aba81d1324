import assert from "node:assert/strict";
import { DEFAULT_SERVICE_OPTIONS } from "./options.ts";
import { objectRef, parseServiceText } from "./text.ts";

const SERVICE = `apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec: { selector: { app: web }, ports: [{ port: 80 }] }
`;
const SLICE = `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-1, namespace: shop, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
endpoints: [{ addresses: [10.244.0.5] }]
ports: [{ port: 8080 }]
`;

Deno.test("parseServiceText() reads Services and EndpointSlices from one text", () => {
  const r = parseServiceText(`${SERVICE}---\n# nothing\n---\n${SLICE}`, DEFAULT_SERVICE_OPTIONS);
  assert.deepEqual(r.issues, []);
  assert.deepEqual(r.objects.map((o) => `${o.kind} ${o.key}`), [
    "Service shop/web",
    "EndpointSlice shop/web-1",
  ]);
});

Deno.test("parseServiceText() prefixes paths with the document index when there are several", () => {
  const one = parseServiceText(SERVICE.replace("port: 80", "port: 0"), DEFAULT_SERVICE_OPTIONS);
  assert.deepEqual(one.issues, [{ path: "spec.ports[0].port", message: "Must be 1-65535, got 0" }]);
  const several = parseServiceText(
    [SERVICE, SLICE.replace("IPv4", "IPv7"), "kind: Deployment\n", SERVICE, "a: [b\n"].join(
      "---\n",
    ),
    DEFAULT_SERVICE_OPTIONS,
  );
  assert.deepEqual(
    several.issues,
    [
      { path: "[1].addressType", message: `Must be "IPv4", "IPv6" or "FQDN", got "IPv7"` },
      { path: "[2].kind", message: `Must be "Service" or "EndpointSlice", got "Deployment"` },
      { path: "[3].metadata.name", message: "Service shop/web is also document [0]" },
    ].toSpliced(0, 0, several.issues[0]!),
  );
  assert.match(several.issues[0]!.message, /^Invalid YAML: /);
  assert.equal(several.issues[0]!.path, "[4]");
});

Deno.test("parseServiceText() reads a List as its items", () => {
  const r = parseServiceText(
    JSON.stringify({
      apiVersion: "v1",
      kind: "List",
      items: [{ apiVersion: "v1", kind: "Service", metadata: { name: "a" }, spec: { ports: [] } }],
    }),
    DEFAULT_SERVICE_OPTIONS,
  );
  assert.equal(r.issues[0]?.path, "items[0].spec.ports");
});

Deno.test("objectRef() names what a delete removes", () => {
  assert.deepEqual(objectRef({ kind: "Service", metadata: { name: "web" } }), {
    kind: "Service",
    key: "default/web",
  });
  assert.deepEqual(
    objectRef({ kind: "EndpointSlice", metadata: { name: "w-1", namespace: "shop" } }),
    { kind: "EndpointSlice", key: "shop/w-1" },
  );
  assert.deepEqual(objectRef({ kind: "Service", metadata: {} }), {
    path: "metadata.name",
    message: `Field "name" is required`,
  });
  assert.deepEqual(objectRef("x"), { path: "", message: "Must be an object (a manifest)" });
});
