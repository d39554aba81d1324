// Cilium `icmps` rules: ICMP / ICMPv6 message types by number or by the CamelCase names Cilium
// accepts (the IANA registry names of RFC 792 / RFC 4443 and later), per address family.
import type { L4 } from "../model.ts";
import { child, type Issues, item, oneOf, quote } from "./issues.ts";
import { asList, asObject, asString, checkFields, field, shown } from "./read.ts";

/** ICMP (IPv4) type names, IANA "ICMP Type Numbers". */
export const ICMPV4_TYPES: Readonly<Record<string, number>> = {
  EchoReply: 0,
  DestinationUnreachable: 3,
  Redirect: 5,
  Echo: 8,
  EchoRequest: 8,
  RouterAdvertisement: 9,
  RouterSelection: 10,
  TimeExceeded: 11,
  ParameterProblem: 12,
  Timestamp: 13,
  TimestampReply: 14,
  Photuris: 40,
  ExtendedEchoRequest: 42,
  ExtendedEchoReply: 43,
};

/** ICMPv6 type names, IANA "ICMPv6 Type Numbers". */
export const ICMPV6_TYPES: Readonly<Record<string, number>> = {
  DestinationUnreachable: 1,
  PacketTooBig: 2,
  TimeExceeded: 3,
  ParameterProblem: 4,
  EchoRequest: 128,
  EchoReply: 129,
  MulticastListenerQuery: 130,
  MulticastListenerReport: 131,
  MulticastListenerDone: 132,
  RouterSolicitation: 133,
  RouterAdvertisement: 134,
  NeighborSolicitation: 135,
  NeighborAdvertisement: 136,
  RedirectMessage: 137,
  RouterRenumbering: 138,
  ICMPNodeInformationQuery: 139,
  ICMPNodeInformationResponse: 140,
  InverseNeighborDiscoverySolicitation: 141,
  InverseNeighborDiscoveryAdvertisement: 142,
  HomeAgentAddressDiscoveryRequest: 144,
  HomeAgentAddressDiscoveryReply: 145,
  MobilePrefixSolicitation: 146,
  MobilePrefixAdvertisement: 147,
  DuplicateAddressRequestCodeSuffix: 157,
  DuplicateAddressConfirmationCodeSuffix: 158,
  ExtendedEchoRequest: 160,
  ExtendedEchoReply: 161,
};

/** Cilium's limit on ports and ICMP types per entry. */
export const MAX_PER_ENTRY = 40;

/** `icmps: [{ fields: [{ type, family }] }]` as L4 conditions; undefined when invalid. */
export function parseIcmps(v: unknown, path: string, issues: Issues): L4[] | undefined {
  const list = asList(v, path, issues);
  if (!list) return undefined;
  const before = issues.count;
  const out: L4[] = [];
  list.forEach((entry, i) => {
    const at = item(path, i);
    const o = asObject(entry, at, issues);
    if (!o) return;
    checkFields(o, at, issues, ["fields"]);
    const fieldsPath = child(at, "fields");
    const fieldsV = field(o, "fields");
    const fields = fieldsV === undefined ? [] : asList(fieldsV, fieldsPath, issues);
    if (!fields) return;
    if (fields.length === 0) {
      issues.add(fieldsPath, "Must list at least one ICMP type (an empty entry allows nothing)");
    }
    if (fields.length > MAX_PER_ENTRY) {
      issues.add(fieldsPath, `Too many ICMP types (${fields.length}): at most ${MAX_PER_ENTRY}`);
    }
    fields.forEach((f, j) => {
      const l4 = parseIcmpField(f, item(fieldsPath, j), issues);
      if (l4) out.push(l4);
    });
  });
  return issues.count === before ? out : undefined;
}

function parseIcmpField(v: unknown, path: string, issues: Issues): L4 | undefined {
  const o = asObject(v, path, issues);
  if (!o) return undefined;
  checkFields(o, path, issues, ["family", "type"]);
  const familyV = field(o, "family");
  const familyText = familyV === undefined
    ? "IPv4"
    : asString(familyV, child(path, "family"), issues);
  if (familyText === undefined) return undefined;
  if (familyText !== "IPv4" && familyText !== "IPv6") {
    issues.add(
      child(path, "family"),
      `Unknown family ${quote(familyText)}: must be "IPv4" or "IPv6"`,
    );
    return undefined;
  }
  const family = familyText === "IPv4" ? 4 : 6;
  const typeV = field(o, "type");
  const typePath = child(path, "type");
  if (typeV === undefined) {
    issues.add(typePath, `Field "type" is required`);
    return undefined;
  }
  const type = icmpType(typeV, family, typePath, issues);
  return type === undefined ? undefined : { kind: "icmp", family, type };
}

function icmpType(v: unknown, family: 4 | 6, path: string, issues: Issues): number | undefined {
  const names = family === 4 ? ICMPV4_TYPES : ICMPV6_TYPES;
  const text = typeof v === "number" ? String(v) : typeof v === "string" ? v : undefined;
  if (text === undefined) {
    issues.add(path, `Must be an ICMP type number or name, got ${shown(v)}`);
    return undefined;
  }
  if (/^[0-9]+$/.test(text)) {
    const n = Number(text);
    if (n <= 255 && (text === "0" || !text.startsWith("0"))) return n;
    issues.add(path, `Invalid ICMP type ${quote(text)}: must be 0-255`);
    return undefined;
  }
  if (Object.hasOwn(names, text)) return names[text];
  issues.add(
    path,
    `Unknown ICMP type ${quote(text)} for IPv${family}: use a number 0-255 or one of ` +
      oneOf(Object.keys(names)),
  );
  return undefined;
}
