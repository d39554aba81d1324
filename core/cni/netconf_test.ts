import assert from "node:assert/strict";
import type { CniCommand } from "./env.ts";
import { CniError } from "./errors.ts";
import { parseNetConf, peekCniVersion, validAttachments } from "./netconf.ts";

const base = { cniVersion: "1.0.0", name: "podnet", type: "hypha" };
const gcBase = { ...base, cniVersion: "1.1.0", "cni.dev/valid-attachments": [] };
const text = (o: unknown) => JSON.stringify(o);

function rejects(stdin: string, command: CniCommand | undefined, code: number, message: RegExp) {
  assert.throws(() => parseNetConf(stdin, command), (e: unknown) => {
    assert.ok(e instanceof CniError, String(e));
    assert.equal(e.code, code, e.msg);
    assert.match(e.msg, message);
    return true;
  });
}

Deno.test("parseNetConf() reports each invalid configuration with its code and field", async (t) => {
  const cases: Array<[string, string, CniCommand | undefined, number, RegExp]> = [
    ["malformed JSON", "{", "ADD", 6, /^Failed to decode the network configuration: /],
    ["empty stdin", "", "ADD", 6, /^Failed to decode the network configuration: /],
    ["not an object", "[1]", "ADD", 6, /: must be a JSON object, got \[1\]$/],
    [
      "no cniVersion",
      text({ name: "n", type: "hypha" }),
      "ADD",
      1,
      /^Incompatible CNI version: "cniVersion" is missing, which means "0.1.0" \(supported: "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"\)$/,
    ],
    [
      "unsupported cniVersion",
      text({ ...base, cniVersion: "0.2.0" }),
      "ADD",
      1,
      /^Incompatible CNI version "0.2.0": supported versions are "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"$/,
    ],
    [
      "cniVersion not a string",
      text({ ...base, cniVersion: 1 }),
      "ADD",
      7,
      /^Invalid network configuration field "cniVersion": must be a string, got 1$/,
    ],
    [
      "CHECK before 0.4.0",
      text({ ...base, cniVersion: "0.3.1", prevResult: {} }),
      "CHECK",
      1,
      /^Incompatible CNI version "0.3.1": CHECK needs "0.4.0" or later$/,
    ],
    [
      "GC before 1.1.0",
      text({ ...base, "cni.dev/valid-attachments": [] }),
      "GC",
      1,
      /^Incompatible CNI version "1.0.0": GC needs "1.1.0" or later$/,
    ],
    ["STATUS before 1.1.0", text(base), "STATUS", 1, /STATUS needs "1.1.0" or later$/],
    [
      "no name",
      text({ ...base, name: undefined }),
      "ADD",
      7,
      /^Invalid network configuration field "name": is required$/,
    ],
    [
      "bad name",
      text({ ...base, name: "-pod net" }),
      "ADD",
      7,
      /field "name": "-pod net" must start with a letter or digit/,
    ],
    ["no type", text({ ...base, type: undefined }), "ADD", 7, /field "type": is required$/],
    [
      "type not a string",
      text({ ...base, type: 3 }),
      "ADD",
      7,
      /field "type": must be a string, got 3$/,
    ],
    [
      "type with a path",
      text({ ...base, type: "../hypha" }),
      "ADD",
      7,
      /field "type": "..\/hypha" must be a file name/,
    ],
    [
      "relative agentSocket",
      text({ ...base, agentSocket: "api.sock" }),
      "ADD",
      7,
      /^Invalid network configuration field "agentSocket": must be an absolute path, got "api.sock"$/,
    ],
    [
      "agentWaitSeconds too big",
      text({ ...base, agentWaitSeconds: 601 }),
      "ADD",
      7,
      /field "agentWaitSeconds": must be a number of seconds between 0 and 600, got 601$/,
    ],
    [
      "agentWaitSeconds as text",
      text({ ...base, agentWaitSeconds: "5" }),
      "ADD",
      7,
      /field "agentWaitSeconds": .* got "5"$/,
    ],
    ...[0, -1, 601, "5", null].map((v): [string, string, CniCommand, number, RegExp] => [
      `agentTimeoutSeconds ${JSON.stringify(v)}`,
      text({ ...base, agentTimeoutSeconds: v }),
      "ADD",
      7,
      new RegExp(
        `field "agentTimeoutSeconds": must be a number of seconds over 0 and up to 600, got ${
          JSON.stringify(v)
        }$`,
      ),
    ]),
    [
      "mtu too small",
      text({ ...base, mtu: 100 }),
      "ADD",
      7,
      /^Invalid network configuration field "mtu": must be an integer between 576 and 65535, got 100$/,
    ],
    [
      "mtu fractional",
      text({ ...base, mtu: 1500.5 }),
      "ADD",
      7,
      /field "mtu": must be an integer between 576 and 65535, got 1500.5$/,
    ],
    [
      "labels not a map",
      text({ ...base, labels: "app=web" }),
      "ADD",
      7,
      /field "labels": must be an object of string labels/,
    ],
    [
      "bad label key",
      text({ ...base, labels: { "a b": "x" } }),
      "ADD",
      7,
      /field "labels.a b": label key "a b"/,
    ],
    [
      "runtimeConfig not an object",
      text({ ...base, runtimeConfig: [] }),
      "ADD",
      7,
      /field "runtimeConfig": must be an object, got \[\]$/,
    ],
    [
      "bad runtimeConfig label",
      text({ ...base, runtimeConfig: { labels: { a: 1 } } }),
      "ADD",
      7,
      /field "runtimeConfig.labels.a": must be a string/,
    ],
    [
      "args not an object",
      text({ ...base, args: 1 }),
      "ADD",
      7,
      /field "args": must be an object, got 1$/,
    ],
    [
      "args.cni not an object",
      text({ ...base, args: { cni: "x" } }),
      "ADD",
      7,
      /field "args.cni": must be an object/,
    ],
    [
      "bad args label",
      text({ ...base, args: { cni: { labels: [{ key: "-x", value: "" }] } } }),
      "ADD",
      7,
      /field "args.cni.labels\[0\]": label key "-x"/,
    ],
    [
      "prevResult not an object",
      text({ ...base, prevResult: [] }),
      "DEL",
      7,
      /field "prevResult": must be an object \(a CNI result\), got \[\]$/,
    ],
    [
      "CHECK without prevResult",
      text(base),
      "CHECK",
      7,
      /field "prevResult": is required for CHECK/,
    ],
    [
      "GC without valid attachments",
      text({ ...base, cniVersion: "1.1.0" }),
      "GC",
      7,
      /field "cni.dev\/valid-attachments": is required for GC/,
    ],
    [
      "valid attachments not a list",
      text({ ...gcBase, "cni.dev/valid-attachments": {} }),
      "GC",
      7,
      /field "cni.dev\/valid-attachments": must be an array, got \{\}$/,
    ],
    [
      "bad valid attachment",
      text({ ...gcBase, "cni.dev/valid-attachments": [{ containerID: "a" }] }),
      "GC",
      7,
      /field "cni.dev\/valid-attachments\[0\]": must be \{ "containerID": string, "ifname": string \}, got \{"containerID":"a"\}$/,
    ],
  ];
  for (const [name, stdin, command, code, message] of cases) {
    await t.step(name, () => rejects(stdin, command, code, message));
  }
});

Deno.test("parseNetConf() keeps every field as parsed, including unknown ones", () => {
  const input = {
    ...base,
    agentSocket: "/run/hypha/n1/api.sock",
    agentWaitSeconds: 0.5,
    mtu: 1450,
    labels: { app: "web" },
    runtimeConfig: {
      labels: { tier: "fe" },
      portMappings: [{ hostPort: 80, containerPort: 8080, protocol: "tcp" }],
    },
    args: { cni: { labels: [{ key: "env", value: "prod" }], ips: ["10.0.0.9"] }, other: true },
    prevResult: { cniVersion: "1.0.0", ips: [] },
    ipam: { type: "host-local" },
    somethingNew: [1, 2],
  };
  assert.deepEqual(parseNetConf(text(input), "DEL"), input);
});

Deno.test("parseNetConf() accepts each supported version for the commands it has", async (t) => {
  const cases: Array<[string, CniCommand]> = [
    ["0.3.0", "ADD"],
    ["0.3.1", "DEL"],
    ["0.4.0", "CHECK"],
    ["1.0.0", "CHECK"],
    ["1.1.0", "GC"],
    ["1.1.0", "STATUS"],
  ];
  for (const [cniVersion, command] of cases) {
    await t.step(`${cniVersion} ${command}`, () => {
      const conf = parseNetConf(text({ ...gcBase, cniVersion, prevResult: {} }), command);
      assert.equal(conf.cniVersion, cniVersion);
    });
  }
});

Deno.test("validAttachments() reads cni.dev/valid-attachments or the legacy cni.dev/attachments", () => {
  const list = [{ containerID: "c1", ifname: "eth0" }];
  const current = parseNetConf(text({ ...gcBase, "cni.dev/valid-attachments": list }), "GC");
  assert.deepEqual(validAttachments(current), list);
  const legacy = parseNetConf(
    text({ ...base, cniVersion: "1.1.0", "cni.dev/attachments": list }),
    "GC",
  );
  assert.deepEqual(validAttachments(legacy), list);
});

Deno.test("peekCniVersion() finds a string cniVersion in anything JSON", () => {
  assert.equal(peekCniVersion(text({ cniVersion: "0.4.0", name: 1 })), "0.4.0");
  assert.equal(peekCniVersion(text({ cniVersion: 4 })), undefined);
  assert.equal(peekCniVersion("{"), undefined);
  assert.equal(peekCniVersion(""), undefined);
  assert.equal(peekCniVersion("[]"), undefined);
});
