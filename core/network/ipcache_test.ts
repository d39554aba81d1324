import assert from "node:assert/strict";
import { desiredIpcache, IPCACHE_F } from "./ipcache.ts";
import { ipcacheKeyCidr } from "../datapath/addr.ts";
import type { NodeInfo } from "../state/mod.ts";

const node = (name: string, ip: string, cidr: string): NodeInfo => ({
  name,
  cluster: "c",
  addresses: [ip],
  podCIDRs: [cidr],
  source: "etcd",
});

Deno.test("desiredIpcache() routes remote pod CIDRs and endpoints through their node", () => {
  const rows = desiredIpcache(
    [node("n1", "192.168.0.11", "10.244.0.0/24"), node("n2", "192.168.0.12", "10.244.1.0/24")],
    [
      {
        node: "n2",
        id: 7,
        containerId: "c",
        ifname: "eth0",
        namespace: "x",
        pod: "a",
        labels: {},
        identity: 300,
        ips: ["10.244.1.5"],
      },
    ],
    "n1",
  );
  const byCidr = new Map(rows.map(([k, v]) => [ipcacheKeyCidr(k).toString(), v]));
  assert.equal(byCidr.get("10.244.0.0/24")?.tunnel_ipv4, 0, "own pod CIDR is local");
  // 192.168.0.12 in network byte order read as little-endian u32
  assert.equal(byCidr.get("10.244.1.0/24")?.tunnel_ipv4, 0x0c00a8c0);
  assert.equal(byCidr.get("10.244.1.5/32")?.identity, 300);
  assert.equal(byCidr.get("10.244.1.5/32")?.flags, IPCACHE_F.endpoint);
  assert.equal(byCidr.get("192.168.0.11/32")?.identity, 1, "this node is host");
  assert.equal(byCidr.get("192.168.0.12/32")?.identity, 6, "others are remote-node");
});

Deno.test("desiredIpcache() leaves out remote endpoints whose node is not known yet", () => {
  const rows = desiredIpcache(
    [node("n1", "192.168.0.11", "10.244.0.0/24")],
    [{
      node: "n9",
      id: 1,
      containerId: "c",
      ifname: "eth0",
      namespace: "x",
      pod: "a",
      labels: {},
      identity: 300,
      ips: ["10.244.9.5"],
    }],
    "n1",
  );
  assert.ok(!rows.some(([k]) => ipcacheKeyCidr(k).toString() === "10.244.9.5/32"));
});

Deno.test("desiredIpcache() leaves out a value that does not parse instead of throwing", () => {
  const odd: NodeInfo = {
    name: "n3",
    cluster: "c",
    addresses: ["not an address", "192.168.0.13"],
    podCIDRs: ["10.244.2.0/24\nroute del default", "10.244.3.0/24"],
    source: "etcd",
  };
  const rows = desiredIpcache(
    [node("n1", "192.168.0.11", "10.244.0.0/24"), odd],
    [{
      node: "n3",
      id: 1,
      containerId: "c",
      ifname: "eth0",
      namespace: "x",
      pod: "b",
      labels: {},
      identity: 300,
      ips: ["10.244.3.5", "10.244.3.x"],
    }],
    "n1",
    new Map([["bad", 16777300], ["10.244.3.0/28", 16777301]]),
  );
  const prefixes = rows.map(([k]) => ipcacheKeyCidr(k).toString()).sort();
  assert.deepEqual(prefixes, [
    "10.244.0.0/24",
    "10.244.3.0/24",
    "10.244.3.0/28",
    "10.244.3.5/32",
    "192.168.0.11/32",
    "192.168.0.13/32",
  ]);
  const tunnel = rows.find(([k]) => ipcacheKeyCidr(k).toString() === "10.244.3.0/24")![1];
  assert.equal(tunnel.tunnel_ipv4 !== 0, true, "the node's IPv4 address is its tunnel endpoint");
});
