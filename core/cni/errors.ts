// CNI error results: the spec's well-known codes and the error JSON a plugin prints on stdout.
// Codes 0-99 are reserved by the spec; 100+ are plugin-specific.

/** Well-known CNI error codes (spec 1.0 "Error" section; 50/51 from the 1.1 STATUS section). */
export const CniErrorCode = {
  /** Incompatible CNI version. */
  IncompatibleVersion: 1,
  /** Unsupported field in network configuration; the message must name the key and value. */
  UnsupportedField: 2,
  /** Container unknown or does not exist; the runtime need not clean up (e.g. call DEL). */
  UnknownContainer: 3,
  /** Invalid necessary environment variables; the message must name the variables. */
  InvalidEnvironment: 4,
  /** I/O failure, e.g. reading the network configuration from stdin failed. */
  IoFailure: 5,
  /** Failed to decode content, e.g. the network configuration is not JSON. */
  DecodingFailure: 6,
  /** Invalid network configuration. */
  InvalidNetworkConfig: 7,
  /** Try again later: a transient condition the runtime should retry after. */
  TryAgainLater: 11,
  /** STATUS: the plugin is not available (cannot service ADD requests). */
  PluginNotAvailable: 50,
  /** STATUS: not available, and existing containers may have limited connectivity. */
  PluginNotAvailableLimitedConnectivity: 51,
  /** hypha-specific: a bug in the plugin itself (an unexpected exception). */
  Internal: 100,
} as const;

export type CniErrorCodeName = keyof typeof CniErrorCode;

/** An error the plugin reports to the runtime as the spec's error result. */
export class CniError extends Error {
  override name = "CniError";
  constructor(readonly code: number, readonly msg: string, readonly details?: string) {
    super(details ? `${msg} (${details})` : msg);
  }
}

/** The spec's error result. `details` is omitted when there is none. */
export interface CniErrorJson {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

/** Builds the error result for `version` (the cniVersion of the request, or the latest). */
export function cniErrorJson(version: string, err: CniError): CniErrorJson {
  return {
    cniVersion: version,
    code: err.code,
    msg: err.msg,
    ...(err.details ? { details: err.details } : {}),
  };
}

/** Code 7 naming a network configuration field by its path, e.g. "runtimeConfig.labels.app". */
export function invalidField(path: string, reason: string): CniError {
  return new CniError(
    CniErrorCode.InvalidNetworkConfig,
    `Invalid network configuration field ${JSON.stringify(path)}: ${reason}`,
  );
}

/** Any thrown value as a CniError: CniErrors pass through, anything else is a plugin bug. */
export function toCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new CniError(CniErrorCode.Internal, `Internal error in the hypha CNI plugin: ${message}`);
}
