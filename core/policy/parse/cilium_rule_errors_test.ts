import { assertIssues, cnp } from "./_testing.ts";

Deno.test("parseManifest() rejects invalid Cilium peers and ports at the field path", async (t) => {
  const i = (rule: unknown) => cnp({ endpointSelector: {}, ingress: [rule] });
  const port = (p: unknown) => i({ toPorts: [{ ports: [p] }] });
  const icmp = (f: unknown) => i({ icmps: [{ fields: [f] }] });
  const R = "spec.ingress[0]";
  const cases: Array<[string, unknown, string, string]> = [
    [
      "a label source hypha does not know",
      i({ fromEndpoints: [{ matchLabels: { "cidr:10.0.0.0/8": "" } }] }),
      `${R}.fromEndpoints[0].matchLabels["cidr:10.0.0.0/8"]`,
      `Invalid label key "cidr:10.0.0.0/8": unsupported label source "cidr": write "k8s:", ` +
      `"reserved:" or no prefix`,
    ],
    [
      "an unknown reserved label",
      i({ fromEndpoints: [{ matchLabels: { "reserved:hosts": "" } }] }),
      `${R}.fromEndpoints[0].matchLabels["reserved:hosts"]`,
      `Invalid label key "reserved:hosts": unknown reserved label: must be one of "host", ` +
      `"remote-node", "world", "world-ipv4", "world-ipv6", "health", "init", "unmanaged", ` +
      `"kube-apiserver" or "ingress"`,
    ],
    [
      "an unknown entity",
      i({ fromEntities: ["wrold"] }),
      `${R}.fromEntities[0]`,
      `Unknown entity "wrold": must be one of "all", "world", "world-ipv4", "world-ipv6", ` +
      `"cluster", "host", "remote-node", "health", "init", "unmanaged" or "kube-apiserver"`,
    ],
    [
      "the ingress entity",
      i({ fromEntities: ["ingress"] }),
      `${R}.fromEntities[0]`,
      `Entity "ingress" (Cilium's L7 ingress proxy) needs the mesh plugin (plugins/mesh), which ` +
      "is not available yet",
    ],
    [
      "an invalid fromCIDR",
      i({ fromCIDR: ["10.0.0.0/40"] }),
      `${R}.fromCIDR[0]`,
      `Invalid CIDR "10.0.0.0/40": prefix length must be 0-32 for IPv4`,
    ],
    [
      "a CIDR set with a bare address",
      i({ fromCIDRSet: [{ cidr: "10.0.0.1" }] }),
      `${R}.fromCIDRSet[0].cidr`,
      `Invalid CIDR "10.0.0.1": missing "/prefix-length"`,
    ],
    [
      "a CIDR set with neither cidr nor group",
      i({ fromCIDRSet: [{ except: [] }] }),
      `${R}.fromCIDRSet[0]`,
      `Must set "cidr" or "cidrGroupRef"`,
    ],
    [
      "a CIDR set with both",
      i({ fromCIDRSet: [{ cidr: "10.0.0.0/8", cidrGroupRef: "g" }] }),
      `${R}.fromCIDRSet[0]`,
      `Set only one of "cidr" and "cidrGroupRef"`,
    ],
    [
      "a CIDR set except outside its cidr",
      i({ fromCIDRSet: [{ cidr: "10.0.0.0/16", except: ["10.0.0.0/8"] }] }),
      `${R}.fromCIDRSet[0].except[0]`,
      `Except "10.0.0.0/8" is not inside cidr "10.0.0.0/16"`,
    ],
    [
      "a CIDR group selected by label",
      i({ fromCIDRSet: [{ cidrGroupSelector: { matchLabels: { role: "vpn" } } }] }),
      `${R}.fromCIDRSet[0].cidrGroupSelector`,
      `Unsupported field "cidrGroupSelector": selecting CIDR groups by label is not supported ` +
      `yet: name the group with "cidrGroupRef"`,
    ],
    [
      "an invalid CIDR group name",
      i({ fromCIDRSet: [{ cidrGroupRef: "VPN Group" }] }),
      `${R}.fromCIDRSet[0].cidrGroupRef`,
      `Invalid CIDR group name "VPN Group": must be a lower-case DNS subdomain: at most 253 ` +
      `letters, digits, "-" and ".", starting and ending with a letter or digit`,
    ],
    [
      "a port written as a number",
      port({ port: 80 }),
      `${R}.toPorts[0].ports[0].port`,
      `Must be a string: write "80"`,
    ],
    [
      "a port with a leading zero",
      port({ port: "080" }),
      `${R}.toPorts[0].ports[0].port`,
      `Invalid port "080": must be 0-65535 without leading zeros`,
    ],
    [
      "a port out of range",
      port({ port: "65536" }),
      `${R}.toPorts[0].ports[0].port`,
      `Invalid port "65536": must be 0-65535 without leading zeros`,
    ],
    [
      "a port as an object",
      port({ port: { n: 1 } }),
      `${R}.toPorts[0].ports[0].port`,
      "Must be a string, got an object",
    ],
    [
      "an invalid port name",
      port({ port: "http_alt" }),
      `${R}.toPorts[0].ports[0].port`,
      `Invalid port "http_alt": must contain only lower-case letters, digits and "-"`,
    ],
    [
      "an upside-down range",
      port({ port: "443", endPort: 80 }),
      `${R}.toPorts[0].ports[0].endPort`,
      "Port range 443-80 is upside down: endPort must be at least port 443",
    ],
    [
      "endPort with a named port",
      port({ port: "dns", endPort: 60 }),
      `${R}.toPorts[0].ports[0].endPort`,
      `endPort cannot be used with the named port "dns"`,
    ],
    [
      "endPort with port 0",
      port({ port: "0", endPort: 60 }),
      `${R}.toPorts[0].ports[0].endPort`,
      "endPort needs a port other than 0 (all ports)",
    ],
    [
      "a lower-case protocol",
      port({ port: "80", protocol: "tcp" }),
      `${R}.toPorts[0].ports[0].protocol`,
      `Unknown protocol "tcp": must be "TCP", "UDP", "SCTP" or "ANY"`,
    ],
    [
      "ICMP as a port protocol",
      port({ protocol: "ICMP" }),
      `${R}.toPorts[0].ports[0].protocol`,
      `Protocol "ICMP" is written as an "icmps" rule`,
    ],
    [
      "a port entry without ports",
      i({ toPorts: [{}] }),
      `${R}.toPorts[0].ports`,
      `Must list at least one port (an empty entry allows nothing; "0" means all ports)`,
    ],
    [
      "too many ports",
      i({ toPorts: [{ ports: Array.from({ length: 41 }, (_, n) => ({ port: String(n + 1) })) }] }),
      `${R}.toPorts[0].ports`,
      "Too many ports (41): at most 40",
    ],
    [
      "an ICMP name of the other family",
      icmp({ type: "PacketTooBig" }),
      `${R}.icmps[0].fields[0].type`,
      `Unknown ICMP type "PacketTooBig" for IPv4: use a number 0-255 or one of "EchoReply", ` +
      `"DestinationUnreachable", "Redirect", "Echo", "EchoRequest", "RouterAdvertisement", ` +
      `"RouterSelection", "TimeExceeded", "ParameterProblem", "Timestamp", "TimestampReply", ` +
      `"Photuris", "ExtendedEchoRequest" or "ExtendedEchoReply"`,
    ],
    [
      "an ICMP type out of range",
      icmp({ type: 256 }),
      `${R}.icmps[0].fields[0].type`,
      `Invalid ICMP type "256": must be 0-255`,
    ],
    [
      "an unknown family",
      icmp({ type: 8, family: "inet" }),
      `${R}.icmps[0].fields[0].family`,
      `Unknown family "inet": must be "IPv4" or "IPv6"`,
    ],
    [
      "an ICMP field without type",
      icmp({ family: "IPv6" }),
      `${R}.icmps[0].fields[0].type`,
      `Field "type" is required`,
    ],
    [
      "an ICMP entry without types",
      i({ icmps: [{ fields: [] }] }),
      `${R}.icmps[0].fields`,
      "Must list at least one ICMP type (an empty entry allows nothing)",
    ],
    [
      "a peer list that is not a list",
      i({ fromEntities: "world" }),
      `${R}.fromEntities`,
      `Must be a list, got the string "world"`,
    ],
  ];
  for (const [name, doc, path, message] of cases) {
    await t.step(name, () => assertIssues(doc, { path, message }));
  }
});
