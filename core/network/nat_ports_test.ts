import assert from "node:assert/strict";
import { natPortsClash } from "./nat_ports.ts";

Deno.test("natPortsClash() names an overlap with the kernel's ephemeral range", () => {
  assert.equal(natPortsClash("32768\t60999\n", 1024, 29999), undefined);
  assert.equal(natPortsClash("32768\t60999\n", 61000, 65535), undefined);
  assert.match(
    natPortsClash("32768\t60999\n", 30000, 40000)!,
    /\(30000-40000\) overlaps the kernel's ephemeral ports \(net\.ipv4\.ip_local_port_range 32768-60999\)/,
  );
  assert.ok(natPortsClash("1024 65535", 1024, 29999), "a widened ephemeral range clashes");
  assert.equal(natPortsClash("garbage", 1024, 29999), undefined, "unreadable: nothing to say");
});
