import assert from "node:assert/strict";
import { decodeKernelRecord, encodeKernelRecord, MAX_ALIAS_BYTES } from "./kernel_record.ts";

const record = {
  id: 7,
  containerId: "c0ffee",
  ifname: "eth0",
  netns: "/var/run/netns/cni-1234",
  namespace: "shop",
  pod: "cart-7d9",
};

Deno.test("encodeKernelRecord() round-trips through decodeKernelRecord()", () => {
  const text = encodeKernelRecord(record)!;
  assert.deepEqual(decodeKernelRecord(text), record);
  const bare = { id: 1, containerId: "c", ifname: "net1" };
  assert.deepEqual(decodeKernelRecord(encodeKernelRecord(bare)!), bare);
});

Deno.test("encodeKernelRecord() drops the pod, then the namespace and netns, to fit 255 bytes", () => {
  const long = { ...record, pod: "p".repeat(253) };
  const text = encodeKernelRecord(long)!;
  assert.ok(new TextEncoder().encode(text).length <= MAX_ALIAS_BYTES);
  assert.deepEqual(decodeKernelRecord(text), {
    id: 7,
    containerId: "c0ffee",
    ifname: "eth0",
    netns: record.netns,
    namespace: "shop",
  });
  const huge = { ...record, netns: "/n/" + "x".repeat(250), containerId: "c".repeat(200) };
  assert.deepEqual(decodeKernelRecord(encodeKernelRecord(huge)!), {
    id: 7,
    containerId: "c".repeat(200),
    ifname: "eth0",
  });
  assert.equal(encodeKernelRecord({ ...record, containerId: "c".repeat(250) }), undefined);
});

Deno.test("decodeKernelRecord() ignores aliases that are not hypha's or are malformed", () => {
  for (
    const alias of [
      "",
      "uplink to rack 3",
      "[]",
      '["hypha-ep/2",1,"c","eth0"]',
      '["hypha-ep/1",0,"c","eth0"]',
      '["hypha-ep/1",70000,"c","eth0"]',
      '["hypha-ep/1",1.5,"c","eth0"]',
      '["hypha-ep/1",1,"","eth0"]',
      '["hypha-ep/1",1,"c",7]',
      '{"id":1}',
    ]
  ) {
    assert.equal(decodeKernelRecord(alias), undefined, alias);
  }
  assert.deepEqual(decodeKernelRecord('["hypha-ep/1",2,"c","eth0",3,null]'), {
    id: 2,
    containerId: "c",
    ifname: "eth0",
  });
});
