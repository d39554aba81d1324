// Addresses in the datapath's map layouts. Every address field is four __u32 words holding the
// address bytes in network order (IPv4 in the first word, the rest zero); the generated codecs
// read __u32 as little-endian, so a word here is the little-endian reading of 4 network bytes.
import { Cidr, type Ip, type IpFamily, ipFrom16Bytes, ipTo16Bytes, parseIp } from "../ipam/mod.ts";
import type { EndpointKey, IpcacheKey } from "../bpf/generated/host.ts";

/** IPCACHE_PREFIX_BASE in bpf/lib/ipcache.h: the family byte and padding in the LPM key. */
export const IPCACHE_PREFIX_BASE = 32;

export function addrWords(ip: Ip): number[] {
  const b = ipTo16Bytes(ip);
  const v = new DataView(b.buffer, b.byteOffset, 16);
  return [0, 4, 8, 12].map((o) => v.getUint32(o, true));
}

/**
 * addrWords() of address text; canonical dotted IPv4 (what parsed sources hold) takes a path
 * without the general parser, for maps written with hundreds of thousands of addresses.
 */
export function addrWordsOf(text: string): number[] {
  const parts = text.split(".");
  if (parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    let w = 0;
    for (let i = 0; i < 4; i++) w |= Number(parts[i]) << (8 * i);
    return [w >>> 0, 0, 0, 0];
  }
  return addrWords(parseIp(text));
}

export function wordsToIp(words: readonly number[], family: IpFamily): Ip {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  words.slice(0, 4).forEach((w, i) => v.setUint32(i * 4, w >>> 0, true));
  return ipFrom16Bytes(b, family);
}

export function endpointKeyOf(ip: Ip): EndpointKey {
  return { addr: addrWords(ip), family: ip.family };
}

export function ipcacheKeyOf(cidr: Cidr): IpcacheKey {
  return {
    prefixlen: IPCACHE_PREFIX_BASE + cidr.prefixLength,
    family: cidr.address.family,
    addr: addrWords(cidr.address),
  };
}

export function ipcacheKeyCidr(key: IpcacheKey): Cidr {
  const family = key.family as IpFamily;
  return new Cidr(wordsToIp(key.addr, family), key.prefixlen - IPCACHE_PREFIX_BASE);
}

/** "0a:1b:..." -> 6 bytes; throws on anything else. */
export function macBytes(mac: string): Uint8Array<ArrayBuffer> {
  const parts = mac.split(":");
  const bytes = parts.map((h) => /^[0-9a-f]{2}$/i.test(h) ? parseInt(h, 16) : NaN);
  if (bytes.length !== 6 || bytes.some(Number.isNaN)) {
    throw new Error(`Invalid MAC address "${mac}": want six hex bytes separated by ':'`);
  }
  return new Uint8Array(bytes);
}

export function macText(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(":");
}

/** A random locally administered unicast MAC (02:xx:...). */
export function randomMac(): string {
  const b = crypto.getRandomValues(new Uint8Array(6));
  b[0] = (b[0]! & 0xfc) | 0x02;
  return macText(b);
}
