// BPF_PROG_TEST_RUN: runs a loaded program on a given packet (and optional context) in the kernel,
// without attaching it. Used by the datapath unit tests (bpf/tests) and benchmarks.
import { lib } from "./_libbpf.ts";
import { bpfError } from "./errors.ts";
import type { BpfProgram } from "./object.ts";

export interface TestRunInput {
  /** Packet bytes (starting at the Ethernet header for tc/XDP programs). */
  data: Uint8Array;
  /** Context in (e.g. a struct __sk_buff for tc programs); its changes come back in `ctx`. */
  ctx?: Uint8Array;
  repeat?: number;
  /** Room for the output packet; programs may grow it. Default: input + 4 KiB. */
  dataOutSize?: number;
}

export interface TestRunResult {
  retval: number;
  data: Uint8Array;
  ctx: Uint8Array | undefined;
  /** Average run time per repetition in nanoseconds, as measured by the kernel. */
  durationNs: number;
}

export function testRun(prog: BpfProgram, input: TestRunInput): TestRunResult {
  const dataIn = new Uint8Array(input.data);
  const dataOut = new Uint8Array(input.dataOutSize ?? dataIn.length + 4096);
  const ctxIn = input.ctx ? new Uint8Array(input.ctx) : undefined;
  const ctxOut = ctxIn ? new Uint8Array(ctxIn.length) : undefined;
  // struct bpf_test_run_opts (80 bytes): pointers are raw addresses of the buffers above, which
  // stay referenced for the whole (synchronous) call.
  const opts = new Uint8Array(80);
  const d = new DataView(opts.buffer);
  const addr = (b: Uint8Array<ArrayBuffer> | undefined) =>
    b && b.length ? BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b))) : 0n;
  d.setBigUint64(0, 80n, true);
  d.setBigUint64(8, addr(dataIn), true);
  d.setBigUint64(16, addr(dataOut), true);
  d.setUint32(24, dataIn.length, true);
  d.setUint32(28, dataOut.length, true);
  d.setBigUint64(32, addr(ctxIn), true);
  d.setBigUint64(40, addr(ctxOut), true);
  d.setUint32(48, ctxIn?.length ?? 0, true);
  d.setUint32(52, ctxOut?.length ?? 0, true);
  d.setInt32(60, input.repeat ?? 1, true);
  const ret = lib().bpf.bpf_prog_test_run_opts(prog.fd, opts);
  if (ret < 0) throw bpfError(`test run of program "${prog.name}"`, ret);
  return {
    retval: d.getInt32(56, true),
    data: dataOut.slice(0, d.getUint32(28, true)),
    ctx: ctxOut?.slice(0, d.getUint32(52, true)),
    durationNs: d.getUint32(64, true),
  };
}
