// Codecs turn TypeScript values into the exact bytes of a BPF map key or value and back.
//
// Byte order: plain integer codecs use the host's order (little endian on x86_64 and arm64),
// as the kernel stores map keys/values; `be16`/`be32` are for fields the datapath keeps in
// network byte order (ports, addresses). The codecs for hypha's own maps are generated from BTF
// (core/bpf/generated), so C and TypeScript agree by construction.

export interface Codec<T> {
  /** Size in bytes. */
  readonly size: number;
  encode(value: T, view: DataView, offset: number): void;
  decode(view: DataView, offset: number): T;
}

const LE = true;

export const u8: Codec<number> = {
  size: 1,
  encode: (v, d, o) => d.setUint8(o, v),
  decode: (d, o) => d.getUint8(o),
};
export const u16: Codec<number> = {
  size: 2,
  encode: (v, d, o) => d.setUint16(o, v, LE),
  decode: (d, o) => d.getUint16(o, LE),
};
export const u32: Codec<number> = {
  size: 4,
  encode: (v, d, o) => d.setUint32(o, v, LE),
  decode: (d, o) => d.getUint32(o, LE),
};
export const i32: Codec<number> = {
  size: 4,
  encode: (v, d, o) => d.setInt32(o, v, LE),
  decode: (d, o) => d.getInt32(o, LE),
};
export const u64: Codec<bigint> = {
  size: 8,
  encode: (v, d, o) => d.setBigUint64(o, v, LE),
  decode: (d, o) => d.getBigUint64(o, LE),
};
export const s64: Codec<bigint> = {
  size: 8,
  encode: (v, d, o) => d.setBigInt64(o, v, LE),
  decode: (d, o) => d.getBigInt64(o, LE),
};
export const be16: Codec<number> = {
  size: 2,
  encode: (v, d, o) => d.setUint16(o, v, false),
  decode: (d, o) => d.getUint16(o, false),
};
export const be32: Codec<number> = {
  size: 4,
  encode: (v, d, o) => d.setUint32(o, v, false),
  decode: (d, o) => d.getUint32(o, false),
};

/** Raw bytes of a fixed length; shorter input is zero-padded, longer is an error. */
export function bytes(length: number): Codec<Uint8Array> {
  return {
    size: length,
    encode(v, d, o) {
      if (v.length > length) {
        throw new RangeError(`Byte field of ${length} bytes got ${v.length} bytes`);
      }
      const target = new Uint8Array(d.buffer, d.byteOffset + o, length);
      target.fill(0);
      target.set(v);
    },
    decode: (d, o) => new Uint8Array(d.buffer.slice(d.byteOffset + o, d.byteOffset + o + length)),
  };
}

/** A fixed-length array of `count` elements. */
export function array<T>(element: Codec<T>, count: number): Codec<T[]> {
  return {
    size: element.size * count,
    encode(v, d, o) {
      if (v.length !== count) {
        throw new RangeError(`Array field of ${count} elements got ${v.length} elements`);
      }
      v.forEach((e, i) => element.encode(e, d, o + i * element.size));
    },
    decode(d, o) {
      const out: T[] = [];
      for (let i = 0; i < count; i++) out.push(element.decode(d, o + i * element.size));
      return out;
    },
  };
}

// [setter, littleEndian, getter] of the primitive codecs, inlined by struct().
const PRIMITIVE_SETTERS = new Map<Codec<unknown>, [string, boolean, string]>([
  [u8 as Codec<unknown>, ["setUint8", true, "getUint8"]],
  [u16 as Codec<unknown>, ["setUint16", true, "getUint16"]],
  [u32 as Codec<unknown>, ["setUint32", true, "getUint32"]],
  [i32 as Codec<unknown>, ["setInt32", true, "getInt32"]],
  [u64 as Codec<unknown>, ["setBigUint64", true, "getBigUint64"]],
  [s64 as Codec<unknown>, ["setBigInt64", true, "getBigInt64"]],
  [be16 as Codec<unknown>, ["setUint16", false, "getUint16"]],
  [be32 as Codec<unknown>, ["setUint32", false, "getUint32"]],
]);

export type StructFields<T> = { [K in keyof T]: readonly [offset: number, codec: Codec<T[K]>] };

/**
 * A C struct of `size` bytes with fields at fixed offsets. Padding is written as zeros, so two
 * equal values always encode to equal bytes (hash map keys depend on that).
 */
export function struct<T extends object>(size: number, fields: StructFields<T>): Codec<T> {
  const names = Object.keys(fields) as Array<keyof T>;
  const offsets: number[] = [];
  const codecs: Array<Codec<T[keyof T]>> = [];
  const covered = new Uint8Array(size);
  for (const name of names) {
    const [offset, codec] = fields[name];
    if (offset + codec.size > size) {
      throw new RangeError(
        `Struct field "${String(name)}" at ${offset}+${codec.size} exceeds size ${size}`,
      );
    }
    offsets.push(offset);
    codecs.push(codec);
    covered.fill(1, offset, offset + codec.size);
  }
  // Bytes no field covers (padding), zeroed on every encode.
  const padding: number[] = [];
  covered.forEach((c, i) => c || padding.push(i));
  return compileStruct<T>(size, names.map(String), offsets, codecs, padding);
}

// Straight-line encoders/decoders per struct: map writes sit on hot paths (batch updates of
// 100k entries), and one monomorphic function per struct is several times faster than a loop
// over field codecs. Only numeric offsets and JSON-quoted field names enter the generated code.
function compileStruct<T>(
  size: number,
  names: string[],
  offsets: number[],
  codecs: Array<Codec<unknown>>,
  padding: number[],
): Codec<T> {
  const field = (i: number) => `v[${JSON.stringify(names[i])}]`;
  const enc: string[] = padding.map((p) => `d.setUint8(o + ${p}, 0);`);
  const dec: string[] = [];
  names.forEach((name, i) => {
    const at = `o + ${offsets[i]}`;
    const prim = PRIMITIVE_SETTERS.get(codecs[i]!);
    enc.push(`if (${field(i)} === undefined) missing(${JSON.stringify(name)});`);
    if (prim) {
      enc.push(`d.${prim[0]}(${at}, ${field(i)}${prim[1] ? ", true" : ", false"});`);
      dec.push(`${JSON.stringify(name)}: d.${prim[2]}(${at}${prim[1] ? ", true" : ", false"}),`);
    } else {
      enc.push(`c[${i}].encode(${field(i)}, d, ${at});`);
      dec.push(`${JSON.stringify(name)}: c[${i}].decode(d, ${at}),`);
    }
  });
  const missing = (name: string) => {
    throw new TypeError(`Struct field "${name}" is missing`);
  };
  const make = new Function(
    "c",
    "missing",
    `return {
    encode(v, d, o) { ${enc.join(" ")} },
    decode(d, o) { return { ${dec.join(" ")} }; },
  };`,
  ) as (
    c: Array<Codec<unknown>>,
    m: typeof missing,
  ) => Pick<Codec<T>, "encode" | "decode">;
  return { size, ...make(codecs, missing) };
}

/**
 * The value of a per-CPU map: one element per possible CPU, each slot rounded up to 8 bytes,
 * as the kernel lays them out for lookups from user space.
 */
export function perCpu<T>(element: Codec<T>, cpus: number): Codec<T[]> {
  const slot = Math.ceil(element.size / 8) * 8;
  return {
    size: slot * cpus,
    encode(v, d, o) {
      if (v.length !== cpus) {
        throw new RangeError(`Per-CPU value needs ${cpus} elements, got ${v.length}`);
      }
      new Uint8Array(d.buffer, d.byteOffset + o, slot * cpus).fill(0);
      v.forEach((e, i) => element.encode(e, d, o + i * slot));
    },
    decode(d, o) {
      const out: T[] = [];
      for (let i = 0; i < cpus; i++) out.push(element.decode(d, o + i * slot));
      return out;
    },
  };
}

/** Encodes one value into a fresh buffer (convenience for tests and one-off calls). */
export function encode<T>(codec: Codec<T>, value: T): Uint8Array<ArrayBuffer> {
  const buf = new Uint8Array(codec.size);
  codec.encode(value, new DataView(buf.buffer), 0);
  return buf;
}

export function decode<T>(codec: Codec<T>, buf: Uint8Array): T {
  return codec.decode(new DataView(buf.buffer, buf.byteOffset, buf.byteLength), 0);
}

/** Zero-sized keys and values, e.g. of ring buffer maps. */
export const none: Codec<undefined> = { size: 0, encode: () => {}, decode: () => undefined };
