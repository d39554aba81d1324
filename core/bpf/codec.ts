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

export type StructFields<T> = { [K in keyof T]: readonly [offset: number, codec: Codec<T[K]>] };

/**
 * A C struct of `size` bytes with fields at fixed offsets. Padding is written as zeros, so two
 * equal values always encode to equal bytes (hash map keys depend on that).
 */
export function struct<T extends object>(size: number, fields: StructFields<T>): Codec<T> {
  const entries = Object.entries(fields) as Array<[keyof T, readonly [number, Codec<T[keyof T]>]]>;
  for (const [name, [offset, codec]] of entries) {
    if (offset + codec.size > size) {
      throw new RangeError(
        `Struct field "${String(name)}" at ${offset}+${codec.size} exceeds size ${size}`,
      );
    }
  }
  return {
    size,
    encode(v, d, o) {
      new Uint8Array(d.buffer, d.byteOffset + o, size).fill(0);
      for (const [name, [offset, codec]] of entries) {
        const fieldValue = v[name];
        if (fieldValue === undefined) {
          throw new TypeError(`Struct field "${String(name)}" is missing`);
        }
        codec.encode(fieldValue, d, o + offset);
      }
    },
    decode(d, o) {
      const out = {} as T;
      for (const [name, [offset, codec]] of entries) out[name] = codec.decode(d, o + offset);
      return out;
    },
  };
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
