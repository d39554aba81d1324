import { assertIssues, np } from "./_testing.ts";

Deno.test("parseManifest() rejects invalid NetworkPolicies at the field path", async (t) => {
  const ingress = (rule: unknown) => np({ podSelector: {}, ingress: [rule] });
  const from = (peer: unknown) => ingress({ from: [{ podSelector: {} }, peer] });
  const port = (p: unknown) => ingress({ ports: [p] });
  const P = "spec.ingress[0]";
  const cases: Array<[string, unknown, string, string]> = [
    [
      "CIDR prefix too long",
      from({ ipBlock: { cidr: "10.0.0.0/33" } }),
      `${P}.from[1].ipBlock.cidr`,
      `Invalid CIDR "10.0.0.0/33": prefix length must be 0-32 for IPv4`,
    ],
    [
      "except outside the cidr",
      from({ ipBlock: { cidr: "10.0.0.0/16", except: ["10.0.1.0/24", "10.1.0.0/24"] } }),
      `${P}.from[1].ipBlock.except[1]`,
      `Except "10.1.0.0/24" is not inside cidr "10.0.0.0/16"`,
    ],
    [
      "IPv6 except of an IPv4 cidr",
      from({ ipBlock: { cidr: "10.0.0.0/8", except: ["fd00::/64"] } }),
      `${P}.from[1].ipBlock.except[0]`,
      `Except "fd00::/64" is IPv6 but cidr "10.0.0.0/8" is IPv4`,
    ],
    [
      "except equal to the cidr (Kubernetes wants a strict subset)",
      from({ ipBlock: { cidr: "10.0.0.0/8", except: ["10.0.0.0/8"] } }),
      `${P}.from[1].ipBlock.except[0]`,
      `Except "10.0.0.0/8" must be smaller than cidr "10.0.0.0/8"`,
    ],
    [
      "ipBlock without cidr",
      from({ ipBlock: { except: [] } }),
      `${P}.from[1].ipBlock.cidr`,
      `Field "cidr" is required`,
    ],
    [
      "ipBlock combined with a selector",
      from({ ipBlock: { cidr: "10.0.0.0/8" }, podSelector: {} }),
      `${P}.from[1]`,
      "ipBlock cannot be combined with podSelector or namespaceSelector",
    ],
    [
      "a peer with nothing in it",
      from({}),
      `${P}.from[1]`,
      "Must set podSelector, namespaceSelector or ipBlock",
    ],
    [
      "port out of range",
      port({ port: 70000 }),
      `${P}.ports[0].port`,
      "Invalid port 70000: must be 1-65535",
    ],
    ["port 0", port({ port: 0 }), `${P}.ports[0].port`, "Invalid port 0: must be 1-65535"],
    [
      "port as an object",
      port({ port: { number: 80 } }),
      `${P}.ports[0].port`,
      "Must be a port number or name, got an object",
    ],
    [
      "a quoted port number",
      port({ port: "80" }),
      `${P}.ports[0].port`,
      `Invalid port name "80": must contain at least one letter (write a port number without quotes)`,
    ],
    [
      "an upside-down port range",
      port({ port: 9000, endPort: 8000 }),
      `${P}.ports[0].endPort`,
      "Port range 9000-8000 is upside down: endPort must be at least port 9000",
    ],
    [
      "endPort with a named port",
      port({ port: "http", endPort: 8080 }),
      `${P}.ports[0].endPort`,
      `endPort cannot be used with the named port "http"`,
    ],
    [
      "endPort without port",
      port({ endPort: 8080 }),
      `${P}.ports[0].endPort`,
      "endPort needs a numeric port",
    ],
    [
      "an unknown protocol",
      port({ protocol: "ICMP" }),
      `${P}.ports[0].protocol`,
      `Unknown protocol "ICMP": must be "TCP", "UDP" or "SCTP"`,
    ],
    [
      "a selector operator that does not exist",
      from({
        podSelector: { matchExpressions: [{ key: "app", operator: "Equals", values: ["x"] }] },
      }),
      `${P}.from[1].podSelector.matchExpressions[0].operator`,
      `Unknown operator "Equals": must be "In", "NotIn", "Exists" or "DoesNotExist"`,
    ],
    [
      "values given for Exists",
      from({
        podSelector: { matchExpressions: [{ key: "app", operator: "Exists", values: ["x"] }] },
      }),
      `${P}.from[1].podSelector.matchExpressions[0].values`,
      `Values must be empty for operator "Exists"`,
    ],
    [
      "In without values",
      from({ podSelector: { matchExpressions: [{ key: "app", operator: "In" }] } }),
      `${P}.from[1].podSelector.matchExpressions[0].values`,
      `Operator "In" needs at least one value`,
    ],
    [
      "an invalid label key",
      from({ podSelector: { matchLabels: { "-app": "x" } } }),
      `${P}.from[1].podSelector.matchLabels["-app"]`,
      `Invalid label key "-app": the name must be 1-63 letters, digits, "-", "_" or ".", ` +
      "starting and ending with a letter or digit",
    ],
    [
      "an invalid label value",
      from({ podSelector: { matchLabels: { app: "a b" } } }),
      `${P}.from[1].podSelector.matchLabels.app`,
      `Invalid label value "a b": must be empty or 1-63 letters, digits, "-", "_" or ".", ` +
      "starting and ending with a letter or digit",
    ],
    [
      "a label value that is not a string",
      from({ podSelector: { matchLabels: { version: 2 } } }),
      `${P}.from[1].podSelector.matchLabels.version`,
      "Label value must be a string, got the number 2: quote it",
    ],
    [
      "a misspelt field",
      np({ podselector: {} }),
      "spec.podselector",
      `Unknown field "podselector" (did you mean "podSelector"?)`,
    ],
    [
      "an unknown policy type",
      np({ podSelector: {}, policyTypes: ["Inbound"] }),
      "spec.policyTypes[0]",
      `Unknown policy type "Inbound": must be "Ingress" or "Egress"`,
    ],
    [
      "a policy type listed twice",
      np({ podSelector: {}, policyTypes: ["Ingress", "Ingress"] }),
      "spec.policyTypes[1]",
      `Policy type "Ingress" is listed twice`,
    ],
    ["no spec", { ...np({}), spec: undefined }, "spec", `Field "spec" is required`],
    [
      "rules that are not a list",
      np({ ingress: {} }),
      "spec.ingress",
      "Must be a list, got an object",
    ],
    ["no name", np({}, { namespace: "shop" }), "metadata.name", `Field "name" is required`],
    [
      "an invalid name",
      np({}, { name: "Web_Policy" }),
      "metadata.name",
      `Invalid name "Web_Policy": must be a lower-case DNS subdomain: at most 253 letters, ` +
      `digits, "-" and ".", starting and ending with a letter or digit`,
    ],
    [
      "an invalid namespace",
      np({}, { name: "p", namespace: "a.b" }),
      "metadata.namespace",
      `Invalid name "a.b": must be a lower-case DNS label: at most 63 letters, digits and "-", ` +
      "starting and ending with a letter or digit",
    ],
    [
      "an audit annotation that is not a boolean",
      np({}, { name: "p", annotations: { "policy.hypha.dev/audit": "yes" } }),
      `metadata.annotations["policy.hypha.dev/audit"]`,
      `Invalid value "yes": must be "true" or "false"`,
    ],
  ];
  for (const [name, doc, path, message] of cases) {
    await t.step(name, () => assertIssues(doc, { path, message }));
  }
});

Deno.test("parseManifest() reports every problem of a NetworkPolicy, not just the first", () => {
  assertIssues(
    np({
      podSelector: { matchLabels: { app: 1 } },
      ingress: [{ from: [{ ipBlock: { cidr: "300.0.0.0/8" } }], ports: [{ port: -1 }] }],
      egress: [{ to: [{ namespaceSelector: { matchExpressions: [{ operator: "Exists" }] } }] }],
    }),
    {
      path: "spec.podSelector.matchLabels.app",
      message: "Label value must be a string, got the number 1: quote it",
    },
    {
      path: "spec.ingress[0].from[0].ipBlock.cidr",
      message: `Invalid CIDR "300.0.0.0/8": octet "300" is out of range 0-255`,
    },
    { path: "spec.ingress[0].ports[0].port", message: "Invalid port -1: must be 1-65535" },
    {
      path: "spec.egress[0].to[0].namespaceSelector.matchExpressions[0].key",
      message: `Field "key" is required`,
    },
  );
});

Deno.test("parseManifest() checks the spec even when metadata is invalid", () => {
  assertIssues(
    np({ podSelector: [] }, { name: "Bad!" }),
    {
      path: "metadata.name",
      message: `Invalid name "Bad!": must be a lower-case DNS subdomain: at most 253 letters, ` +
        `digits, "-" and ".", starting and ending with a letter or digit`,
    },
    { path: "spec.podSelector", message: "Must be an object, got a list" },
  );
});
