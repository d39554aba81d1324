import assert from "node:assert/strict";
import { backendsOf, slicesByService, slicesOfService } from "./backends.ts";
import type { EndpointSlice, SliceEndpoint } from "./model.ts";

const ep = (address: string, extra: Partial<SliceEndpoint> = {}): SliceEndpoint => ({
  addresses: [address],
  ready: true,
  serving: true,
  terminating: false,
  ...extra,
});

const slice = (name: string, fields: Partial<EndpointSlice>): EndpointSlice => ({
  namespace: "shop",
  name,
  service: "web",
  addressType: "IPv4",
  ports: [{ name: "http", protocol: "TCP", port: 8080 }],
  endpoints: [],
  ...fields,
});

Deno.test("slicesOfService() finds a service's slices by label and namespace", () => {
  const slices = [
    slice("web-b", {}),
    slice("web-a", {}),
    slice("other", { service: "db" }),
    slice("elsewhere", { namespace: "dev" }),
  ];
  assert.deepEqual(
    slicesOfService(slices, { namespace: "shop", name: "web" }).map((s) => s.name),
    ["web-a", "web-b"],
  );
  assert.deepEqual([...slicesByService(slices).keys()].sort(), ["dev/web", "shop/db", "shop/web"]);
});

Deno.test("backendsOf() matches slice ports by name and protocol and merges duplicates", () => {
  const slices = [
    slice("a", {
      endpoints: [ep("10.244.1.2", { nodeName: "n1" }), ep("10.244.1.3", { ready: false })],
    }),
    slice("b", {
      ports: [{ name: "http", protocol: "TCP", port: 8080 }, {
        name: "metrics",
        protocol: "TCP",
      }],
      endpoints: [ep("10.244.1.3"), ep("10.244.1.1", { terminating: true, ready: false })],
    }),
    slice("c", { addressType: "FQDN", endpoints: [ep("db.example")] }),
  ];
  assert.deepEqual(backendsOf({ name: "http", protocol: "TCP" }, slices), [
    { address: "10.244.1.1", port: 8080, ready: false, serving: true, terminating: true },
    {
      address: "10.244.1.2",
      port: 8080,
      ready: true,
      serving: true,
      terminating: false,
      nodeName: "n1",
    },
    { address: "10.244.1.3", port: 8080, ready: true, serving: true, terminating: false },
  ]);
  assert.deepEqual(backendsOf({ name: "http", protocol: "UDP" }, slices), []);
  assert.deepEqual(backendsOf({ name: "metrics", protocol: "TCP" }, slices), [], "no port number");
});
