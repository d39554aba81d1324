// Pod CIDR claims against each other: of two overlapping claims of different nodes the older
// wins, and a claim that can be no node CIDR (outside the pools, the whole pool, over this
// node's own CIDR) shadows nothing.
import assert from "node:assert/strict";
import { parseCidr } from "../../ipam/cidr.ts";
import { type Claim, ClaimIndex, nodeContext } from "./checks.ts";

const ctx = nodeContext(
  { v4: "10.244.0.0/16", v6: "fd00:244::/56" },
  {
    name: "n1",
    cluster: "c",
    addresses: ["10.1.0.11"],
    podCIDRs: ["10.244.0.0/24"],
    source: "self",
  },
  "n1",
);
const claim = (cidr: string, node: string, revision: number): Claim => ({
  cidr: parseCidr(cidr),
  node,
  revision,
});

Deno.test("ClaimIndex: the older of two overlapping claims wins", () => {
  const index = new ClaimIndex([
    claim("10.244.2.0/24", "n2", 10),
    claim("10.244.2.0/25", "evil", 20),
    claim("10.244.3.0/24", "n3", 40),
    claim("10.244.2.0/23", "old", 5),
    claim("fd00:244:0:1::/64", "n2", 11),
  ], ctx);
  assert.equal(
    index.problem("10.244.2.0/24", "n2"),
    'Pod CIDR "10.244.2.0/24" overlaps "10.244.2.0/23", claimed earlier by node "old"',
  );
  assert.match(index.problem("10.244.2.0/25", "evil")!, /claimed earlier by node "old"/);
  assert.match(index.problem("10.244.3.0/24", "n3")!, /claimed earlier by node "old"/);
  assert.equal(index.problem("10.244.2.0/23", "old"), undefined);
  assert.equal(index.problem("fd00:244:0:1::/64", "n2"), undefined);
  assert.match(index.problem("10.244.2.0/24", "n3")!, /is claimed by node "n2"/);
  assert.match(index.problem("10.244.9.0/24", "n9")!, /is not claimed/);
});

Deno.test("ClaimIndex: a claim that can be no node CIDR shadows nothing", () => {
  const index = new ClaimIndex([
    claim("0.0.0.0/0", "evil", 1),
    claim("10.244.0.0/16", "evil2", 2),
    claim("10.244.0.0/20", "evil3", 3), // over this node's own 10.244.0.0/24
    claim("10.244.2.0/24", "n2", 10),
  ], ctx);
  assert.equal(index.problem("10.244.2.0/24", "n2"), undefined);
});
