// The kernel clock BPF programs stamp events and expiries with (bpf_ktime_get_boot_ns():
// CLOCK_BOOTTIME, which keeps counting through suspend), and its offset to the wall clock.
import { errno, lib } from "./_libbpf.ts";
import { bpfError } from "./errors.ts";

const CLOCK_REALTIME = 0;
const CLOCK_BOOTTIME = 7;
const timespec = new BigInt64Array(2);
const timespecBytes = new Uint8Array(timespec.buffer);

function clockNs(clock: number): bigint {
  if (lib().libc.clock_gettime(clock, timespecBytes) !== 0) {
    throw bpfError(`clock_gettime(${clock})`, -errno());
  }
  return timespec[0]! * 1_000_000_000n + timespec[1]!;
}

/** CLOCK_BOOTTIME in nanoseconds, as bpf_ktime_get_boot_ns() reads it. */
export function bootTimeNs(): bigint {
  return clockNs(CLOCK_BOOTTIME);
}

/** Wall-clock nanoseconds minus boot-time nanoseconds: add it to a BPF timestamp for the time of
 * day (read both clocks back to back; an NTP step later moves the wall clock, not this offset). */
export function bootToWallNs(): bigint {
  const boot = clockNs(CLOCK_BOOTTIME);
  const wall = clockNs(CLOCK_REALTIME);
  return wall - boot;
}
