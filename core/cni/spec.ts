// core/cni/spec.ts: the CNI specification as hypha implements it (versions 0.3.0 to 1.1.0).
// Pure: parsing, validation and formatting only; no I/O. The agent imports this to read
// CniRequests; the plugin executable (main.ts) builds on it.
export {
  CniError,
  CniErrorCode,
  type CniErrorCodeName,
  type CniErrorJson,
  cniErrorJson,
  toCniError,
} from "./errors.ts";
export {
  CNI_COMMANDS,
  type CniCommand,
  type CniEnv,
  ifnameProblem,
  isValidContainerId,
  KNOWN_CNI_ARGS,
  parseCniArgs,
  parseEnv,
} from "./env.ts";
export {
  checkLabelMap,
  labelKeyProblem,
  labelsFor,
  type LabelSources,
  labelValueProblem,
  type PodLabels,
} from "./labels.ts";
export {
  DEFAULT_AGENT_WAIT_SECONDS,
  type GcAttachment,
  LEGACY_ATTACHMENTS_KEY,
  type NetConf,
  parseNetConf,
  peekCniVersion,
  VALID_ATTACHMENTS_KEY,
  validAttachments,
} from "./netconf.ts";
export {
  type CniDns,
  type CniInterface,
  type CniIpConfig,
  type CniResult,
  type CniResultV0,
  type CniResultV1,
  type CniRoute,
  formatResult,
  type HyphaResult,
  parseHyphaResult,
} from "./result.ts";
export {
  type AgentAnswer,
  type AgentCall,
  AgentUnreachableError,
  CNI_AGENT_PATH,
  type CniErrorBody,
  type CniRequest,
  type CniSuccessBody,
} from "./protocol.ts";
export {
  type CniVersion,
  isSupportedVersion,
  LATEST_VERSION,
  SUPPORTED_VERSIONS,
  versionAtLeast,
  type VersionResult,
  versionResult,
} from "./version.ts";
