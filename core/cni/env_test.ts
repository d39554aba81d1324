import assert from "node:assert/strict";
import { CniError } from "./errors.ts";
import { ifnameProblem, parseCniArgs, parseEnv } from "./env.ts";

const add = {
  CNI_COMMAND: "ADD",
  CNI_CONTAINERID: "abc123",
  CNI_NETNS: "/run/netns/p1",
  CNI_IFNAME: "eth0",
};

function code4(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CniError, String(e));
    assert.equal(e.code, 4);
    assert.match(e.msg, message);
    return true;
  });
}

Deno.test("parseEnv() rejects invalid variables with code 4 naming the variable", async (t) => {
  const cases: Array<[string, Record<string, string | undefined>, RegExp]> = [
    [
      "no command",
      {},
      /^Missing CNI_COMMAND: must be one of "ADD", "DEL", "CHECK", "GC", "STATUS", "VERSION"$/,
    ],
    ["unknown command", { CNI_COMMAND: "add" }, /^Invalid CNI_COMMAND "add": must be one of "ADD"/],
    [
      "ADD without container id",
      { ...add, CNI_CONTAINERID: undefined },
      /^Missing CNI_CONTAINERID: required for ADD$/,
    ],
    [
      "ADD with empty container id",
      { ...add, CNI_CONTAINERID: "" },
      /^Missing CNI_CONTAINERID: required for ADD$/,
    ],
    ["ADD without netns", { ...add, CNI_NETNS: "" }, /^Missing CNI_NETNS: required for ADD$/],
    [
      "CHECK without netns",
      { ...add, CNI_COMMAND: "CHECK", CNI_NETNS: undefined },
      /^Missing CNI_NETNS: required for CHECK$/,
    ],
    [
      "ADD without ifname",
      { ...add, CNI_IFNAME: undefined },
      /^Missing CNI_IFNAME: required for ADD$/,
    ],
    [
      "DEL without ifname",
      { ...add, CNI_COMMAND: "DEL", CNI_IFNAME: "" },
      /^Missing CNI_IFNAME: required for DEL$/,
    ],
    ["GC without CNI_PATH", { CNI_COMMAND: "GC" }, /^Missing CNI_PATH: required for GC$/],
    [
      "container id starting with '-'",
      { ...add, CNI_CONTAINERID: "-abc" },
      /^Invalid CNI_CONTAINERID "-abc": must start with a letter or digit/,
    ],
    [
      "container id with '/'",
      { ...add, CNI_CONTAINERID: "a/b" },
      /^Invalid CNI_CONTAINERID "a\/b"/,
    ],
    [
      "relative netns",
      { ...add, CNI_NETNS: "netns/p1" },
      /^Invalid CNI_NETNS "netns\/p1": must be an absolute path$/,
    ],
    [
      "relative netns on DEL",
      { ...add, CNI_COMMAND: "DEL", CNI_NETNS: "p1" },
      /^Invalid CNI_NETNS "p1": must be an absolute path$/,
    ],
    [
      "ifname too long",
      { ...add, CNI_IFNAME: "a234567890123456" },
      /^Invalid CNI_IFNAME "a234567890123456": must be at most 15 bytes long$/,
    ],
    [
      "ifname with '/'",
      { ...add, CNI_IFNAME: "eth/0" },
      /^Invalid CNI_IFNAME "eth\/0": must not contain "\/", ":" or whitespace$/,
    ],
    ["ifname with ':'", { ...add, CNI_IFNAME: "eth0:1" }, /must not contain/],
    ["ifname with a space", { ...add, CNI_IFNAME: "eth 0" }, /must not contain/],
    [
      "ifname '..'",
      { ...add, CNI_IFNAME: ".." },
      /^Invalid CNI_IFNAME "\.\.": must not be "\." or "\.\."$/,
    ],
    [
      "malformed CNI_ARGS",
      { ...add, CNI_ARGS: "FOO" },
      /^Invalid CNI_ARGS pair "FOO": must be KEY=VALUE$/,
    ],
  ];
  for (const [name, env, message] of cases) {
    await t.step(name, () => code4(() => parseEnv(env), message));
  }
});

Deno.test("parseEnv() takes only what each command needs", async (t) => {
  await t.step("ADD", () => {
    assert.deepEqual(
      parseEnv({ ...add, CNI_ARGS: "K8S_POD_NAME=web", CNI_PATH: "/opt/cni/bin::/x" }),
      {
        command: "ADD",
        containerId: "abc123",
        netns: "/run/netns/p1",
        ifname: "eth0",
        args: { K8S_POD_NAME: "web" },
        path: ["/opt/cni/bin", "/x"],
      },
    );
  });
  await t.step("DEL without a netns", () => {
    const env = parseEnv({ ...add, CNI_COMMAND: "DEL", CNI_NETNS: "" });
    assert.equal(env.netns, "");
    assert.equal(env.containerId, "abc123");
  });
  await t.step("GC, STATUS and VERSION ignore the attachment variables", () => {
    for (const command of ["GC", "STATUS", "VERSION"]) {
      const env = parseEnv({
        CNI_COMMAND: command,
        CNI_PATH: "/opt/cni/bin",
        CNI_IFNAME: "bad/name",
        CNI_ARGS: "X",
      });
      assert.equal(env.command, command);
      assert.deepEqual([env.containerId, env.netns, env.ifname, env.args], ["", "", "", {}]);
    }
  });
  await t.step("container ids with '_', '.' and '-'", () => {
    assert.equal(parseEnv({ ...add, CNI_CONTAINERID: "A1_b.c-d" }).containerId, "A1_b.c-d");
  });
  await t.step("a 15-byte ifname", () => {
    assert.equal(parseEnv({ ...add, CNI_IFNAME: "a23456789012345" }).ifname, "a23456789012345");
  });
});

Deno.test("parseCniArgs() parses K=V pairs as libcni does", async (t) => {
  const ok: Array<[string, Record<string, string>]> = [
    ["", {}],
    ["IgnoreUnknown=1;FOO=BAR;ABC=123", { IgnoreUnknown: "1", FOO: "BAR", ABC: "123" }],
    [
      "IgnoreUnknown=true;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc",
      {
        IgnoreUnknown: "true",
        K8S_POD_NAMESPACE: "default",
        K8S_POD_NAME: "web-0",
        K8S_POD_INFRA_CONTAINER_ID: "abc",
      },
    ],
    ["K8S_POD_NAME=", { K8S_POD_NAME: "" }],
    ["K8S_POD_NAME=a;K8S_POD_NAME=b", { K8S_POD_NAME: "b" }],
    ["K8S_POD_UID=u1", { K8S_POD_UID: "u1" }],
  ];
  for (const [text, want] of ok) {
    await t.step(
      `accepts ${JSON.stringify(text)}`,
      () => assert.deepEqual(parseCniArgs(text), want),
    );
  }
  const bad: Array<[string, RegExp]> = [
    ["FOO", /^Invalid CNI_ARGS pair "FOO": must be KEY=VALUE$/],
    ["A=1=2", /^Invalid CNI_ARGS pair "A=1=2": must be KEY=VALUE$/],
    ["=1", /^Invalid CNI_ARGS pair "=1"/],
    ["K8S_POD_NAME=a;", /^Invalid CNI_ARGS pair "": must be KEY=VALUE$/],
    ["FOO=BAR", /^Invalid CNI_ARGS: unknown keys "FOO" \(add IgnoreUnknown=1 to ignore them\)$/],
    ["IgnoreUnknown=0;FOO=1;BAR=2", /^Invalid CNI_ARGS: unknown keys "FOO", "BAR"/],
    [
      "IgnoreUnknown=maybe",
      /^Invalid CNI_ARGS IgnoreUnknown "maybe": must be "1", "true", "0" or "false"$/,
    ],
  ];
  for (const [text, message] of bad) {
    await t.step(`rejects ${JSON.stringify(text)}`, () => code4(() => parseCniArgs(text), message));
  }
});

Deno.test("ifnameProblem() counts bytes, not characters", () => {
  assert.equal(ifnameProblem("ééééééé"), undefined); // 14 bytes
  assert.equal(ifnameProblem("éééééééé"), "must be at most 15 bytes long"); // 16 bytes
  assert.equal(ifnameProblem(""), "must not be empty");
});
