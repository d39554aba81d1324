// core/state_files: the agent's state directory on disk. Every state file is written through
// writeStateFile() (temp file, fsync, rename, directory fsync), read as ok / missing / damaged,
// and a damaged one is reported to damagedStateFiles with what the owner rebuilt instead.
export { damagedStateFiles, type StateFileDamage } from "./damage.ts";
export {
  anyObject,
  readStateFile,
  readStateFileSync,
  readStateText,
  recordOf,
  type StateParser,
  type StateRead,
} from "./read.ts";
export { removeStaleTemps } from "./stale_temps.ts";
export {
  removeStateFile,
  setAside,
  type StateWriteOptions,
  writeStateFile,
  writeStateFileSync,
} from "./write.ts";
