// core/config: layered, validated configuration with provenance.
export {
  configSchema,
  type HyphaConfig,
  LOG_LEVELS,
  nodeNameRule,
  pluginSection,
} from "./schema.ts";
export { ConfigError, type ConfigIssue } from "./errors.ts";
export {
  type Layer,
  leafPaths,
  mergeLayers,
  parseSetFlag,
  provenance,
  type Source,
} from "./layers.ts";
export {
  DEFAULT_DENO_JSON,
  describeConfig,
  loadConfig,
  type LoadedConfig,
  type LoadOptions,
  readLayers,
  resolveConfig,
} from "./load.ts";
