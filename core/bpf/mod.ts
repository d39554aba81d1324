// core/bpf: hypha's typed access to libbpf. The only place in hypha that opens native libraries.
export * as codec from "./codec.ts";
export type { Codec } from "./codec.ts";
export { BpfObject, type BpfProgram, type MapSpec } from "./object.ts";
export {
  BpfMap,
  type MapInfo,
  mapInfoByFd,
  mapWriteCount,
  possibleCpus,
  type UpdateFlag,
} from "./map.ts";
export {
  attachCgroup,
  attachTc,
  attachXdp,
  BpfLink,
  type CgroupAttachType,
  findTcFilter,
  ifIndex,
  interfaceNames,
  type LinkInfo,
  linkWriteCount,
  type TcDirection,
  type TcMode,
} from "./link.ts";
export { bootTimeNs, bootToWallNs } from "./clock.ts";
export { RingBuffer } from "./ringbuf.ts";
export { testRun, type TestRunInput, type TestRunResult } from "./test_run.ts";
export {
  bpffsMounts,
  cgroupV2Mount,
  type Feature,
  type KernelFeatures,
  probeFeatures,
} from "./probe.ts";
export {
  BpfError,
  errnoName,
  NotSupportedError,
  PermissionError,
  PinnedMapMismatchError,
  VerifierError,
} from "./errors.ts";
export { withNetns } from "./netns.ts";
export { type ProgramInfo, programInfoByFd, programInfoById } from "./program.ts";
