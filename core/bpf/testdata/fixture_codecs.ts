// Codecs for fixture.c's `fixture_hash` (struct fixture_key -> struct fixture_value), shared by
// the binding tests and the map-ops benchmark so both use the same keys and values.
import { struct, u16, u32, u64, u8 } from "../codec.ts";

export interface FixtureKey {
  id: number;
  port: number;
  proto: number;
}
export interface FixtureValue {
  packets: bigint;
  bytes: bigint;
  flags: number;
}

export const fixtureKey = struct<FixtureKey>(8, { id: [0, u32], port: [4, u16], proto: [6, u8] });
export const fixtureValue = struct<FixtureValue>(24, {
  packets: [0, u64],
  bytes: [8, u64],
  flags: [16, u32],
});

/** The i-th key and value, as the C baseline (bench/map_ops/map_ops.c) builds them. */
export const keyOf = (i: number): FixtureKey => ({ id: i, port: 80, proto: 6 });
export const valueOf = (i: number): FixtureValue => ({
  packets: BigInt(i),
  bytes: BigInt(i) * 100n,
  flags: i % 7,
});
