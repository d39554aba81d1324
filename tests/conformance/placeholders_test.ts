import assert from "node:assert/strict";
import { prefixOf, resolvePlaceholders } from "./placeholders.ts";

const IPS = new Map([["x/b", "10.244.1.5"], ["ext/one", "198.51.100.10"]]);

Deno.test("prefixOf() zeroes the host bits of the prefix that contains the address", () => {
  assert.equal(prefixOf("10.244.1.5", 4), "0.0.0.0/4");
  assert.equal(prefixOf("10.244.1.5", 8), "10.0.0.0/8");
  assert.equal(prefixOf("10.244.1.5", 12), "10.240.0.0/12");
  assert.equal(prefixOf("10.244.1.5", 24), "10.244.1.0/24");
  assert.equal(prefixOf("10.244.1.5", 31), "10.244.1.4/31");
  assert.equal(prefixOf("10.244.1.5", 32), "10.244.1.5/32");
  assert.equal(prefixOf("255.255.255.255", 0), "0.0.0.0/0");
  assert.equal(prefixOf("255.255.255.255", 1), "128.0.0.0/1");
  assert.throws(() => prefixOf("10.244.1", 8), /not an IPv4 address/);
});

Deno.test("resolvePlaceholders() replaces ip and net placeholders anywhere in a manifest", () => {
  const manifest = {
    kind: "NetworkPolicy",
    spec: {
      egress: [{
        to: [
          { ipBlock: { cidr: "${net:x/b/4}", except: ["${ip:x/b}/32", "${net:x/b/24}"] } },
          { ipBlock: { cidr: "${ip:ext/one}/32" } },
        ],
        ports: [{ port: 80 }],
      }],
    },
    note: "from ${ip:x/b} to ${ip:ext/one}",
    enabled: true,
    missing: null,
  };
  assert.deepEqual(resolvePlaceholders(manifest, IPS), {
    kind: "NetworkPolicy",
    spec: {
      egress: [{
        to: [
          { ipBlock: { cidr: "0.0.0.0/4", except: ["10.244.1.5/32", "10.244.1.0/24"] } },
          { ipBlock: { cidr: "198.51.100.10/32" } },
        ],
        ports: [{ port: 80 }],
      }],
    },
    note: "from 10.244.1.5 to 198.51.100.10",
    enabled: true,
    missing: null,
  });
  assert.equal(manifest.spec.egress[0]!.to[0]!.ipBlock.cidr, "${net:x/b/4}", "input untouched");
});

Deno.test("resolvePlaceholders() throws for a key it has no address for", () => {
  assert.throws(() => resolvePlaceholders("${ip:x/zz}", IPS), /Cannot resolve placeholder/);
});
