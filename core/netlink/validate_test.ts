// The checks that stand between a value (from a cluster store record, a CNI request or config)
// and an `ip -batch` line: every way to smuggle a word, a line or a comment into a line is refused
// with an error that names the field and quotes the value.
import assert from "node:assert/strict";
import { NetlinkError } from "./exec.ts";
import { routeLine, validRoute } from "./route.ts";
import { vethLines } from "./link.ts";
import { ifnameProblem, netnsPathProblem } from "./validate.ts";

const veth = {
  hostName: "hyx1a2b3c",
  hostMac: "02:00:00:00:00:01",
  podName: "eth0",
  podMac: "02:00:00:00:00:02",
  netns: "/var/run/netns/cni-1234",
  mtu: 1450,
  hostRoutes: ["10.244.1.5/32"],
  routeProto: 77,
};

function refused(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof NetlinkError, String(err));
    assert.match(err.message, message);
    return true;
  });
}

Deno.test("ifnameProblem() applies the kernel's rule and refuses what ip -batch cannot carry", async (t) => {
  for (const ok of ["eth0", "hyx0123456789ab", "vxlan.hypha", "a-b_c", "ü12"]) {
    await t.step(`accepts ${JSON.stringify(ok)}`, () => assert.equal(ifnameProblem(ok), undefined));
  }
  const cases: Array<[string, RegExp]> = [
    ["", /must not be empty/],
    ["..", /must not be "\." or "\.\."/],
    ["a234567890123456", /at most 15 bytes/],
    ["üüüüüüüü", /at most 15 bytes/], // 16 bytes in UTF-8
    ["eth0:1", /must not contain "\/", ":" or whitespace/],
    ["a/b", /must not contain "\/"/],
    ["a b", /whitespace/],
    ["a\nlink", /whitespace/],
    ["a#b", /"#"/],
    ['a"b', /quotes/],
    ["a'b", /quotes/],
    ["a\\b", /"\\"/],
    ["a\x00b", /control characters/],
  ];
  for (const [name, why] of cases) {
    await t.step(`refuses ${JSON.stringify(name)}`, () => assert.match(ifnameProblem(name)!, why));
  }
});

Deno.test("netnsPathProblem() accepts runtime netns paths and nothing with spaces or newlines", async (t) => {
  for (const ok of ["/var/run/netns/cni-1b2c", "/proc/1234/ns/net", "/run/netns/hl-ab12-p1"]) {
    await t.step(`accepts ${ok}`, () => assert.equal(netnsPathProblem(ok), undefined));
  }
  const cases: Array<[string, RegExp]> = [
    ["var/run/netns/x", /absolute/],
    ["/var/run/netns/x y", /only letters/],
    ["/var/run/netns/x\nlink del eth0", /only letters/],
    ["/var/run/netns/x#", /only letters/],
    ["/var/run/../../etc/x", /"\.\." segments/],
    [`/${"a".repeat(4100)}`, /at most 4095/],
  ];
  for (const [path, why] of cases) {
    await t.step(`refuses ${JSON.stringify(path.slice(0, 40))}`, () => {
      assert.match(netnsPathProblem(path)!, why);
    });
  }
});

Deno.test("routeLine() builds canonical lines and names the field of a bad value", async (t) => {
  await t.step("canonical text", () => {
    assert.equal(
      routeLine("replace", { dst: "FD00:0::/64", dev: "vxlan0", mtu: 1400 }),
      "route replace fd00::/64 dev vxlan0 proto 77 mtu 1400",
    );
    assert.equal(
      routeLine("replace", { dst: "10.244.2.0/24", via: "10.1.0.12", dev: "eth0" }),
      "route replace 10.244.2.0/24 via 10.1.0.12 dev eth0 proto 77",
    );
    assert.equal(
      routeLine("del", { dst: "10.244.2.0/24", dev: "eth0", scope: "link", mtu: 1400 }),
      "route del 10.244.2.0/24 dev eth0 proto 77",
    );
  });
  const bad: Array<[string, Parameters<typeof validRoute>[0], RegExp]> = [
    ["a newline in dst", { dst: "10.0.0.0/24\nroute del default", dev: "eth0" }, /route\.dst/],
    [
      "host bits in dst",
      { dst: "10.0.0.1/24", dev: "eth0" },
      /Invalid CIDR "10\.0\.0\.1\/24" for route\.dst: host bits/,
    ],
    ["dst without prefix", { dst: "10.0.0.0", dev: "eth0" }, /route\.dst/],
    [
      "dst of a string type",
      { dst: 7 as unknown as string, dev: "eth0" },
      /route\.dst: not a string/,
    ],
    [
      "a word in dev",
      { dst: "10.0.0.0/24", dev: "eth0 table 5" },
      /Invalid interface name "eth0 table 5" for route\.dev/,
    ],
    ["a comment in dev", { dst: "10.0.0.0/24", dev: "eth0#" }, /route\.dev/],
    [
      "via of the other family",
      { dst: "10.0.0.0/24", dev: "eth0", via: "fd00::1" },
      /route\.via: must be an IPv4 address/,
    ],
    ["via with a word", { dst: "10.0.0.0/24", dev: "eth0", via: "10.0.0.1 onlink" }, /route\.via/],
    [
      "mtu too small",
      { dst: "10.0.0.0/24", dev: "eth0", mtu: 20 },
      /route\.mtu: must be an integer from 68 to 65535/,
    ],
    ["mtu not an integer", { dst: "10.0.0.0/24", dev: "eth0", mtu: 1400.5 }, /route\.mtu/],
    ["another scope", { dst: "10.0.0.0/24", dev: "eth0", scope: "host" as "link" }, /route\.scope/],
  ];
  for (const [name, route, message] of bad) {
    await t.step(name, () => refused(() => routeLine("replace", route), message));
  }
});

Deno.test("vethLines() uses name/dev keywords and validates every field", async (t) => {
  await t.step("the lines", () => {
    assert.deepEqual(vethLines({ ...veth, hostMac: "02:00:00:00:00:0A" }), [
      "link add name hyx1a2b3c mtu 1450 address 02:00:00:00:00:0a type veth peer name eth0 " +
      "mtu 1450 address 02:00:00:00:00:02 netns /var/run/netns/cni-1234",
      "link set dev hyx1a2b3c up",
      "route replace 10.244.1.5/32 dev hyx1a2b3c proto 77 scope link",
    ]);
  });
  await t.step("a keyword as a name stays a name", () => {
    assert.match(vethLines({ ...veth, podName: "mtu" })[0]!, /peer name mtu mtu 1450/);
  });
  const bad: Array<[string, Partial<typeof veth>, RegExp]> = [
    ["netns with a newline", { netns: "/var/run/netns/x\nlink del eth0" }, /veth\.netns/],
    ["netns relative", { netns: "netns/x" }, /veth\.netns: must be an absolute path/],
    ["pod name with a space", { podName: "eth0 up" }, /veth\.podName/],
    [
      "host name too long",
      { hostName: "hyx0123456789abcd" },
      /veth\.hostName: must be at most 15 bytes/,
    ],
    [
      "MAC with a word",
      { hostMac: "02:00:00:00:00:01 up" },
      /Invalid MAC address .* for veth\.hostMac/,
    ],
    ["short MAC", { podMac: "02:00:00" }, /veth\.podMac/],
    ["MTU 0", { mtu: 0 }, /veth\.mtu/],
    ["MTU text", { mtu: "1500 up" as unknown as number }, /veth\.mtu/],
    [
      "a host route with a newline",
      { hostRoutes: ["10.244.1.5/32\nroute del default"] },
      /veth\.hostRoutes\[0\]/,
    ],
    ["route proto 300", { routeProto: 300 }, /veth\.routeProto/],
  ];
  for (const [name, patch, message] of bad) {
    await t.step(name, () => refused(() => vethLines({ ...veth, ...patch }), message));
  }
});
