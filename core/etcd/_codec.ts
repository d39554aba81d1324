// Conversions between the gateway's JSON (proto3 JSON: bytes as base64, int64 as decimal strings,
// zero values omitted) and the client's types.
import type { KeyValue, WatchEvent } from "./types.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder(); // not fatal: keys written by other clients may not be UTF-8

export function bytesToBase64(bytes: Uint8Array): string {
  let bin = "";
  // Chunked: String.fromCharCode(...bytes) overflows the stack on large values.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

export function base64ToBytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** A UTF-8 string as the gateway's base64 bytes. */
export function encodeText(s: string): string {
  return bytesToBase64(encoder.encode(s));
}

/** The gateway's base64 bytes as a UTF-8 string; an omitted field is "". */
export function decodeText(b64: string | undefined): string {
  return b64 ? decoder.decode(base64ToBytes(b64)) : "";
}

/**
 * The `range_end` that makes a range cover every key starting with `prefix`: the prefix with its
 * last byte below 0xff incremented and the rest dropped. An empty prefix (or all 0xff) gives
 * "\0", which etcd reads as "to the end of the keyspace".
 */
export function prefixRangeEnd(prefix: string): string {
  const end = encoder.encode(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return bytesToBase64(end.subarray(0, i + 1));
    }
  }
  return bytesToBase64(new Uint8Array([0]));
}

/** The `key` and `range_end` of every key starting with `prefix`; "" means the whole keyspace. */
export function prefixRange(prefix: string): { key: string; range_end: string } {
  // etcd refuses an empty key; "\0" to "\0" is its spelling of "everything".
  return { key: prefix ? encodeText(prefix) : "AA==", range_end: prefixRangeEnd(prefix) };
}

/** An int64 field (decimal string, or omitted when zero). */
export function int64(v: string | number | undefined): bigint {
  return v === undefined ? 0n : BigInt(v);
}

/** An int64 field known to be small (TTLs, counts). */
export function smallInt(v: string | number | undefined): number {
  return v === undefined ? 0 : Number(v);
}

export interface WireKeyValue {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
  lease?: string;
}

export interface WireHeader {
  revision?: string;
  member_id?: string;
}

export function toKeyValue(w: WireKeyValue): KeyValue {
  return {
    key: decodeText(w.key),
    value: decodeText(w.value),
    createRevision: int64(w.create_revision),
    modRevision: int64(w.mod_revision),
    version: int64(w.version),
    lease: int64(w.lease),
  };
}

export interface WireEvent {
  type?: "PUT" | "DELETE";
  kv?: WireKeyValue;
  prev_kv?: WireKeyValue;
}

/** A watch event; proto3 omits `type` for PUT, its zero value. */
export function toWatchEvent(w: WireEvent): WatchEvent {
  const kv = w.kv ?? {};
  const event: WatchEvent = {
    type: w.type === "DELETE" ? "delete" : "put",
    key: decodeText(kv.key),
    value: decodeText(kv.value),
    modRevision: int64(kv.mod_revision),
  };
  if (w.prev_kv) event.prevValue = decodeText(w.prev_kv.value);
  return event;
}
