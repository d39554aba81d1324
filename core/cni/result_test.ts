import assert from "node:assert/strict";
import { CniError } from "./errors.ts";
import { formatResult, type HyphaResult, parseHyphaResult } from "./result.ts";

const internal: HyphaResult = {
  interfaces: [
    { name: "lxc1234", mac: "0a:00:00:00:00:01", mtu: 1450 },
    {
      name: "eth0",
      mac: "0a:00:00:00:00:02",
      mtu: 1450,
      sandbox: "/run/netns/p1",
      socketPath: "/x.sock",
      pciID: "0000:00:01.0",
    },
  ],
  ips: [
    { address: "10.0.0.5/32", gateway: "10.0.0.1", interface: 1 },
    { address: "fd00::5/128", interface: 1 },
  ],
  routes: [{ dst: "0.0.0.0/0", gw: "10.0.0.1", mtu: 1400, table: 100 }, { dst: "::/0" }],
  dns: { nameservers: ["10.96.0.10"], search: ["svc.cluster.local"] },
};

const v0Interfaces = [
  { name: "lxc1234", mac: "0a:00:00:00:00:01" },
  { name: "eth0", mac: "0a:00:00:00:00:02", sandbox: "/run/netns/p1" },
];
const v0Routes = [{ dst: "0.0.0.0/0", gw: "10.0.0.1" }, { dst: "::/0" }];
const dns = { nameservers: ["10.96.0.10"], search: ["svc.cluster.local"] };

Deno.test("formatResult() gives each version exactly its spec's fields", async (t) => {
  for (const cniVersion of ["0.3.0", "0.3.1", "0.4.0"] as const) {
    await t.step(`${cniVersion}: ips carry version, no 1.1 fields`, () => {
      assert.deepEqual(formatResult(cniVersion, internal), {
        cniVersion,
        interfaces: v0Interfaces,
        ips: [
          { version: "4", address: "10.0.0.5/32", gateway: "10.0.0.1", interface: 1 },
          { version: "6", address: "fd00::5/128", interface: 1 },
        ],
        routes: v0Routes,
        dns,
      });
    });
  }
  await t.step("1.0.0: no ip version, no 1.1 fields", () => {
    assert.deepEqual(formatResult("1.0.0", internal), {
      cniVersion: "1.0.0",
      interfaces: v0Interfaces,
      ips: [
        { address: "10.0.0.5/32", gateway: "10.0.0.1", interface: 1 },
        { address: "fd00::5/128", interface: 1 },
      ],
      routes: v0Routes,
      dns,
    });
  });
  await t.step("1.1.0: interface mtu/socketPath/pciID and route attributes", () => {
    assert.deepEqual(formatResult("1.1.0", internal), { cniVersion: "1.1.0", ...internal });
  });
  await t.step("an empty result keeps the lists and dns", () => {
    const empty = { interfaces: [], ips: [], routes: [], dns: {} };
    assert.deepEqual(formatResult("0.4.0", empty), { cniVersion: "0.4.0", ...empty });
  });
});

Deno.test("parseHyphaResult() reads any version's shape and drops unknown fields", () => {
  const v0 = formatResult("0.4.0", internal);
  const parsed = parseHyphaResult({ ...v0, extra: 1 });
  assert.deepEqual(parsed.ips[0], { address: "10.0.0.5/32", gateway: "10.0.0.1", interface: 1 });
  assert.deepEqual(formatResult("1.0.0", parsed), formatResult("1.0.0", internal));
  assert.deepEqual(parseHyphaResult({}), { interfaces: [], ips: [], routes: [], dns: {} });
  assert.deepEqual(parseHyphaResult(internal), internal);
});

Deno.test("parseHyphaResult() rejects a malformed agent result with code 6", async (t) => {
  const ip = (v: unknown) => ({ interfaces: [{ name: "eth0" }], ips: [v] });
  const cases: Array<[string, unknown, RegExp]> = [
    ["not an object", "x", /^Invalid agent result field "result": must be an object, got "x"$/],
    ["interfaces not a list", { interfaces: {} }, /field "interfaces": must be a list, got \{\}$/],
    [
      "interface without name",
      { interfaces: [{ mac: "x" }] },
      /field "interfaces\[0\].name": must be a non-empty string, got undefined$/,
    ],
    [
      "interface mtu negative",
      { interfaces: [{ name: "a", mtu: -1 }] },
      /field "interfaces\[0\].mtu": must be a non-negative integer, got -1$/,
    ],
    [
      "address without prefix",
      ip({ address: "10.0.0.5" }),
      /field "ips\[0\].address": must be an address\/prefix, got "10.0.0.5"$/,
    ],
    ["address with a bad prefix", ip({ address: "10.0.0.5/33" }), /field "ips\[0\].address"/],
    ["bad IPv4", ip({ address: "10.0.0.256/32" }), /field "ips\[0\].address"/],
    ["bad IPv6", ip({ address: "fd00:::1/64" }), /field "ips\[0\].address"/],
    [
      "bad gateway",
      ip({ address: "10.0.0.5/32", gateway: "gw" }),
      /field "ips\[0\].gateway": must be an IP address, got "gw"$/,
    ],
    [
      "interface index out of range",
      ip({ address: "10.0.0.5/32", interface: 1 }),
      /field "ips\[0\].interface": must index "interfaces" \(0-0\), got 1$/,
    ],
    ["route without dst", { routes: [{ gw: "10.0.0.1" }] }, /field "routes\[0\].dst"/],
    [
      "route with a bad table",
      { routes: [{ dst: "0.0.0.0/0", table: "main" }] },
      /field "routes\[0\].table": must be a non-negative integer/,
    ],
    ["dns not an object", { dns: [] }, /field "dns": must be an object/],
    [
      "dns nameservers not strings",
      { dns: { nameservers: [1] } },
      /field "dns.nameservers": must be a list of strings/,
    ],
  ];
  for (const [name, raw, message] of cases) {
    await t.step(name, () => {
      assert.throws(() => parseHyphaResult(raw), (e: unknown) => {
        assert.ok(e instanceof CniError);
        assert.equal(e.code, 6);
        assert.match(e.msg, message);
        return true;
      });
    });
  }
});
