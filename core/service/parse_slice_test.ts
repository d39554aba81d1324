import assert from "node:assert/strict";
import { parseEndpointSlice } from "./parse_slice.ts";

function slice(fields: Record<string, unknown>, labels: Record<string, unknown> = {
  "kubernetes.io/service-name": "web",
}) {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: "web-abc12", namespace: "shop", labels },
    addressType: "IPv4",
    ...fields,
  };
}

function issuesOf(doc: unknown): Record<string, string> {
  const r = parseEndpointSlice(doc);
  assert.ok(!r.ok, "expected issues");
  return Object.fromEntries(r.issues.map((i) => [i.path, i.message]));
}

Deno.test("parseEndpointSlice() applies the Kubernetes meaning of missing conditions", () => {
  const r = parseEndpointSlice(slice({
    endpoints: [
      {
        addresses: ["10.244.1.5"],
        nodeName: "node1",
        zone: "a",
        targetRef: { kind: "Pod", name: "web-1", uid: "x" },
        hostname: "web-1",
      },
      { addresses: ["10.244.2.7", "10.244.2.7"], conditions: { ready: false } },
      {
        addresses: ["10.244.3.9"],
        conditions: { ready: false, serving: true, terminating: true },
        targetRef: { kind: "Pod", namespace: "other", name: "web-3" },
      },
      { addresses: ["10.244.4.1"], targetRef: { kind: "Node", name: "n4" } },
    ],
    ports: [{ name: "http", port: 8080 }, { name: "dns", protocol: "UDP", port: 53 }, {
      name: "later",
    }],
  }));
  assert.deepEqual(r, {
    ok: true,
    value: {
      namespace: "shop",
      name: "web-abc12",
      service: "web",
      addressType: "IPv4",
      ports: [
        { name: "http", protocol: "TCP", port: 8080 },
        { name: "dns", protocol: "UDP", port: 53 },
        { name: "later", protocol: "TCP" },
      ],
      endpoints: [
        {
          addresses: ["10.244.1.5"],
          ready: true,
          serving: true,
          terminating: false,
          nodeName: "node1",
          zone: "a",
          pod: "shop/web-1",
        },
        { addresses: ["10.244.2.7"], ready: false, serving: false, terminating: false },
        {
          addresses: ["10.244.3.9"],
          ready: false,
          serving: true,
          terminating: true,
          pod: "other/web-3",
        },
        { addresses: ["10.244.4.1"], ready: true, serving: true, terminating: false },
      ],
    },
  });
});

Deno.test("parseEndpointSlice() keeps IPv6 canonical and FQDN names as they are", () => {
  const v6 = parseEndpointSlice(slice({
    addressType: "IPv6",
    endpoints: [{ addresses: ["FD00:0:0::0a"] }],
  }));
  assert.ok(v6.ok);
  assert.deepEqual(v6.value.endpoints[0]!.addresses, ["fd00::a"]);
  const fqdn = parseEndpointSlice(slice({
    addressType: "FQDN",
    endpoints: [{ addresses: ["db.example.com"] }],
  }));
  assert.ok(fqdn.ok);
  assert.deepEqual(fqdn.value.endpoints[0]!.addresses, ["db.example.com"]);
  const empty = parseEndpointSlice(slice({}));
  assert.ok(empty.ok, "a slice without endpoints is valid (a service with no backends)");
});

Deno.test("parseEndpointSlice() reports every problem at its path", async (t) => {
  await t.step("the document and metadata", () => {
    assert.deepEqual(issuesOf({ apiVersion: "v1", kind: "Endpoints" }), {
      kind: `Must be "EndpointSlice", got "Endpoints"`,
    });
    assert.deepEqual(
      issuesOf({
        apiVersion: "discovery.k8s.io/v1beta1",
        kind: "EndpointSlice",
        metadata: { name: "Web_1" },
        spec: {},
      }),
      {
        apiVersion: `Must be "discovery.k8s.io/v1" for kind "EndpointSlice", got ` +
          `"discovery.k8s.io/v1beta1"`,
        spec: `Unknown field "spec"`,
        "metadata.name": `Invalid name "Web_1": must be a lower-case DNS subdomain: at most 253 ` +
          `letters, digits, "-" and ".", starting and ending with a letter or digit`,
        'metadata.labels["kubernetes.io/service-name"]':
          `Label "kubernetes.io/service-name" is required: it names the slice's service`,
        addressType: `Field "addressType" is required`,
      },
    );
  });
  await t.step("addresses, conditions and references", () => {
    assert.deepEqual(
      issuesOf(slice({
        endpoints: [
          { addresses: [] },
          { addresses: ["fd00::1", "10.1.1.300"], conditions: { ready: "yes", up: true } },
          { addresses: ["10.1.1.1"], targetRef: { kind: "Pod" }, nodeName: "Node_1", zone: 3 },
          { addresses: ["10.1.1.2"], weight: 1 },
        ],
      })),
      {
        "endpoints[0].addresses": "Must have at least one address",
        "endpoints[1].addresses[0]": `Address "fd00::1" is IPv6 but addressType is "IPv4"`,
        "endpoints[1].addresses[1]": `Invalid IP address "10.1.1.300": octet "300" is out of ` +
          "range 0-255",
        "endpoints[1].conditions.up": `Unknown field "up"`,
        "endpoints[1].conditions.ready": `Must be true or false, got the string "yes"`,
        "endpoints[2].nodeName": `Invalid nodeName "Node_1": must be a lower-case DNS ` +
          `subdomain: at most 253 letters, digits, "-" and ".", starting and ending with a ` +
          "letter or digit",
        "endpoints[2].zone": "Must be a string, got the number 3",
        "endpoints[2].targetRef.name": `Field "name" is required for a Pod reference`,
        "endpoints[3].weight": `Unknown field "weight"`,
      },
    );
  });
  await t.step("address type and ports", () => {
    assert.deepEqual(
      issuesOf(slice({
        addressType: "IP",
        endpoints: "none",
        ports: [
          { name: "http", port: 0 },
          { name: "http", protocol: "QUIC", port: 80 },
          { name: "Bad", port: 81 },
        ],
      })),
      {
        addressType: `Must be "IPv4", "IPv6" or "FQDN", got "IP"`,
        endpoints: 'Must be a list, got the string "none"',
        "ports[0].port": "Must be 1-65535, got 0",
        "ports[1].name": `Duplicate port name "http" (also ports[0].name)`,
        "ports[1].protocol": `Must be "TCP", "UDP" or "SCTP", got "QUIC"`,
        "ports[2].name": `Invalid name "Bad": must be a lower-case DNS label: at most 63 ` +
          `letters, digits and "-", starting and ending with a letter or digit`,
      },
    );
  });
  await t.step("the service label must be a label", () => {
    assert.deepEqual(issuesOf(slice({}, { "kubernetes.io/service-name": "" })), {
      'metadata.labels["kubernetes.io/service-name"]':
        `Label "kubernetes.io/service-name" is required: it names the slice's service`,
    });
  });
});
