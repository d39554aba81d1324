import assert from "node:assert/strict";
import { parseEndpointFile } from "./endpoint_file.ts";

const good = {
  node: "n1",
  id: 3,
  containerId: "c1",
  ifname: "eth0",
  namespace: "x",
  pod: "a",
  labels: { app: "a" },
  cniLabels: { app: "a" },
  identity: 256,
  ips: ["10.244.0.5", "fd00::5"],
  netns: "/var/run/netns/p1",
  hostIfname: "hyx0123456789ab",
  hostMac: "02:00:00:00:00:01",
  podMac: "02:00:00:00:00:02",
  mtu: 1450,
  createdAt: "2026-01-01T00:00:00.000Z",
};

Deno.test("parseEndpointFile() accepts a complete endpoint", () => {
  assert.deepEqual(parseEndpointFile(structuredClone(good), 3), good);
});

Deno.test("parseEndpointFile() names the first field the restore could not rely on", () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ["not an object", [], /"\(file\)" must be a JSON object/],
    ["another id", { ...good, id: 4 }, /"id" must be 3/],
    ["no addresses", { ...good, ips: [] }, /"ips" must be a non-empty list/],
    ["an address that is none", { ...good, ips: ["10.244.0.300"] }, /"ips"/],
    ["addresses as a string", { ...good, ips: "10.244.0.5" }, /"ips"/],
    ["no host interface", { ...good, hostIfname: "" }, /"hostIfname" must not be empty/],
    ["a missing netns", { ...good, netns: undefined }, /"netns" must be a string/],
    ["a bad MAC", { ...good, podMac: "02:00" }, /"podMac" must be a MAC/],
    ["labels of numbers", { ...good, labels: { a: 1 } }, /"labels"/],
    ["identity 0", { ...good, identity: 0 }, /"identity"/],
    ["mtu as text", { ...good, mtu: "1450" }, /"mtu"/],
  ];
  for (const [name, json, error] of cases) {
    assert.throws(() => parseEndpointFile(json, 3), error, name);
  }
});
