// The network configuration a runtime streams on stdin (the spec's "execution configuration"):
// the CNI fields the spec defines, plus hypha's own fields. Unknown fields are kept untouched
// (the spec lets runtimes and conventions add keys); hypha's fields are checked strictly.
import { parsePortMappings } from "./port_mappings.ts";
import { CniError, CniErrorCode, invalidField } from "./errors.ts";
import type { CniCommand } from "./env.ts";
import { checkArgsLabels, checkLabelMap } from "./labels.ts";
import { isRecord, quoteList, shown } from "./_validate.ts";
import {
  type CniVersion,
  isSupportedVersion,
  SUPPORTED_VERSIONS,
  versionAtLeast,
} from "./version.ts";

/** Seconds the plugin waits for an unreachable agent when `agentWaitSeconds` is not set. */
export const DEFAULT_AGENT_WAIT_SECONDS = 30;

/**
 * Seconds one call to the agent may take, from connect to the whole answer, when
 * `agentTimeoutSeconds` is not set. An ADD takes milliseconds; a minute covers an agent busy
 * with a burst of pods and stays well inside the runtime's own CNI timeout.
 */
export const DEFAULT_AGENT_TIMEOUT_SECONDS = 60;

/** A GC "still valid" attachment (spec 1.1 `cni.dev/valid-attachments`). */
export interface GcAttachment {
  containerID: string;
  ifname: string;
}

export const VALID_ATTACHMENTS_KEY = "cni.dev/valid-attachments";
/** The key spec 1.1.0 first printed; libcni sends both, so either is accepted. */
export const LEGACY_ATTACHMENTS_KEY = "cni.dev/attachments";

/** A validated network configuration, as parsed: every field of the input is kept. */
export interface NetConf {
  cniVersion: CniVersion;
  name: string;
  type: string;
  /** Absolute path of the agent's unix socket; default: the one `/run/hypha/<node>/api.sock`. */
  agentSocket?: string;
  /** How long to retry an unreachable agent, 0-600 s (default DEFAULT_AGENT_WAIT_SECONDS). */
  agentWaitSeconds?: number;
  /** Deadline of one call to the agent, over 0 and up to 600 s (default DEFAULT_AGENT_TIMEOUT_SECONDS). */
  agentTimeoutSeconds?: number;
  /** MTU of the pod interface, 576-65535. */
  mtu?: number;
  labels?: Record<string, string>;
  runtimeConfig?: {
    labels?: Record<string, string>;
    /** The portMappings capability (core/cni/port_mappings.ts). */
    portMappings?: unknown[];
    [key: string]: unknown;
  };
  args?: {
    cni?: {
      labels?: Record<string, string> | Array<{ key: string; value: string }>;
      [key: string]: unknown;
    };
    [key: string]: unknown;
  };
  /** The previous ADD's result (CHECK, DEL), in the shape of `cniVersion`; checked as an object. */
  prevResult?: Record<string, unknown>;
  [VALID_ATTACHMENTS_KEY]?: GcAttachment[];
  [key: string]: unknown;
}

/** The minimum spec version each command exists in (what libcni's skel enforces too). */
const MIN_VERSION: Partial<Record<CniCommand, CniVersion>> = {
  CHECK: "0.4.0",
  GC: "1.1.0",
  STATUS: "1.1.0",
};

// Network name (spec 1.0): alphanumeric start, then alphanumerics, "_", "." or "-".
const NETWORK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * Parses and validates stdin. Code 6 when it is not a JSON object, 1 for a version hypha does
 * not speak (or one too old for `command`), 7 for anything invalid, naming the field.
 */
export function parseNetConf(stdinText: string, command?: CniCommand): NetConf {
  let raw: unknown;
  try {
    raw = JSON.parse(stdinText);
  } catch (err) {
    throw new CniError(
      CniErrorCode.DecodingFailure,
      `Failed to decode the network configuration: ${(err as Error).message}`,
    );
  }
  if (!isRecord(raw)) {
    throw new CniError(
      CniErrorCode.DecodingFailure,
      `Failed to decode the network configuration: must be a JSON object, got ${shown(raw)}`,
    );
  }
  const conf = raw as NetConf;
  checkVersion(raw.cniVersion, command);
  checkString(
    "name",
    raw.name,
    NETWORK_NAME,
    'must start with a letter or digit, followed by letters, digits, "_", "." or "-"',
  );
  checkString("type", raw.type, /^[^/\\]+$/, 'must be a file name (no "/" or "\\")');
  checkHyphaFields(raw);
  checkConventions(raw);

  if (raw.prevResult !== undefined && !isRecord(raw.prevResult)) {
    throw invalidField(
      "prevResult",
      `must be an object (a CNI result), got ${shown(raw.prevResult)}`,
    );
  }
  if (command === "CHECK" && raw.prevResult === undefined) {
    throw invalidField("prevResult", "is required for CHECK (the result of the previous ADD)");
  }
  checkAttachments(raw, command);
  return conf;
}

function checkVersion(v: unknown, command: CniCommand | undefined): void {
  if (v === undefined || v === "") {
    throw new CniError(
      CniErrorCode.IncompatibleVersion,
      `Incompatible CNI version: "cniVersion" is missing, which means "0.1.0" (supported: ` +
        `${quoteList(SUPPORTED_VERSIONS)})`,
    );
  }
  if (typeof v !== "string") throw invalidField("cniVersion", `must be a string, got ${shown(v)}`);
  if (!isSupportedVersion(v)) {
    throw new CniError(
      CniErrorCode.IncompatibleVersion,
      `Incompatible CNI version ${JSON.stringify(v)}: supported versions are ` +
        quoteList(SUPPORTED_VERSIONS),
    );
  }
  const min = command && MIN_VERSION[command];
  if (min && !versionAtLeast(v, min)) {
    throw new CniError(
      CniErrorCode.IncompatibleVersion,
      `Incompatible CNI version ${JSON.stringify(v)}: ${command} needs ${
        JSON.stringify(min)
      } or later`,
    );
  }
}

function checkString(field: string, v: unknown, pattern: RegExp, rule: string): void {
  if (v === undefined) throw invalidField(field, "is required");
  if (typeof v !== "string") throw invalidField(field, `must be a string, got ${shown(v)}`);
  if (!pattern.test(v)) throw invalidField(field, `${JSON.stringify(v)} ${rule}`);
}

function checkHyphaFields(raw: Record<string, unknown>): void {
  const { agentSocket, agentWaitSeconds, agentTimeoutSeconds, mtu } = raw;
  if (agentSocket !== undefined) {
    if (typeof agentSocket !== "string" || !agentSocket.startsWith("/")) {
      throw invalidField("agentSocket", `must be an absolute path, got ${shown(agentSocket)}`);
    }
  }
  if (agentWaitSeconds !== undefined) {
    if (
      typeof agentWaitSeconds !== "number" || !Number.isFinite(agentWaitSeconds) ||
      agentWaitSeconds < 0 || agentWaitSeconds > 600
    ) {
      throw invalidField(
        "agentWaitSeconds",
        `must be a number of seconds between 0 and 600, got ${shown(agentWaitSeconds)}`,
      );
    }
  }
  if (agentTimeoutSeconds !== undefined) {
    if (
      typeof agentTimeoutSeconds !== "number" || !Number.isFinite(agentTimeoutSeconds) ||
      agentTimeoutSeconds <= 0 || agentTimeoutSeconds > 600
    ) {
      throw invalidField(
        "agentTimeoutSeconds",
        `must be a number of seconds over 0 and up to 600, got ${shown(agentTimeoutSeconds)}`,
      );
    }
  }
  if (mtu !== undefined) {
    if (!Number.isInteger(mtu) || (mtu as number) < 576 || (mtu as number) > 65535) {
      throw invalidField("mtu", `must be an integer between 576 and 65535, got ${shown(mtu)}`);
    }
  }
  if (raw.labels !== undefined) checkLabelMap("labels", raw.labels);
}

/** `runtimeConfig` (capability arguments) and `args` (the "args" convention). */
function checkConventions(raw: Record<string, unknown>): void {
  const { runtimeConfig, args } = raw;
  if (runtimeConfig !== undefined) {
    if (!isRecord(runtimeConfig)) {
      throw invalidField("runtimeConfig", `must be an object, got ${shown(runtimeConfig)}`);
    }
    if (runtimeConfig.labels !== undefined) {
      checkLabelMap("runtimeConfig.labels", runtimeConfig.labels);
    }
    if (runtimeConfig.portMappings !== undefined) parsePortMappings(runtimeConfig.portMappings);
  }
  if (args !== undefined) {
    if (!isRecord(args)) throw invalidField("args", `must be an object, got ${shown(args)}`);
    if (args.cni !== undefined) {
      if (!isRecord(args.cni)) {
        throw invalidField("args.cni", `must be an object, got ${shown(args.cni)}`);
      }
      if (args.cni.labels !== undefined) checkArgsLabels("args.cni.labels", args.cni.labels);
    }
  }
}

/** GC's still-valid attachments; required for GC so a missing list never means "none valid". */
function checkAttachments(raw: Record<string, unknown>, command: CniCommand | undefined): void {
  for (const key of [VALID_ATTACHMENTS_KEY, LEGACY_ATTACHMENTS_KEY]) {
    const list = raw[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw invalidField(key, `must be an array, got ${shown(list)}`);
    list.forEach((a, i) => {
      if (
        !isRecord(a) || typeof a.containerID !== "string" || a.containerID === "" ||
        typeof a.ifname !== "string" || a.ifname === ""
      ) {
        throw invalidField(
          `${key}[${i}]`,
          `must be { "containerID": string, "ifname": string }, got ${shown(a)}`,
        );
      }
    });
  }
  if (command === "GC" && raw[VALID_ATTACHMENTS_KEY] === undefined) {
    if (raw[LEGACY_ATTACHMENTS_KEY] === undefined) {
      throw invalidField(VALID_ATTACHMENTS_KEY, "is required for GC (the still-valid attachments)");
    }
  }
}

/** GC's valid attachments, whichever key the runtime used. */
export function validAttachments(conf: NetConf): GcAttachment[] {
  return conf[VALID_ATTACHMENTS_KEY] ?? (conf[LEGACY_ATTACHMENTS_KEY] as GcAttachment[]) ?? [];
}

/**
 * The `cniVersion` of stdin, if it is a JSON object with a string one: used to answer VERSION
 * and to label error results when the configuration itself is invalid.
 */
export function peekCniVersion(stdinText: string): string | undefined {
  try {
    const raw: unknown = JSON.parse(stdinText);
    return isRecord(raw) && typeof raw.cniVersion === "string" && raw.cniVersion !== ""
      ? raw.cniVersion
      : undefined;
  } catch {
    return undefined;
  }
}
