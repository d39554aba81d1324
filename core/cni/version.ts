// The CNI spec versions hypha speaks and the VERSION command's answer.

/** Oldest first. 0.3.0 is the first with the rich result (interfaces, ips); CHECK needs 0.4.0. */
export const SUPPORTED_VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;
export type CniVersion = typeof SUPPORTED_VERSIONS[number];
export const LATEST_VERSION: CniVersion = "1.1.0";

export function isSupportedVersion(v: unknown): v is CniVersion {
  return typeof v === "string" && (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/** True when `v` is `min` or newer (both supported versions). */
export function versionAtLeast(v: CniVersion, min: CniVersion): boolean {
  return SUPPORTED_VERSIONS.indexOf(v) >= SUPPORTED_VERSIONS.indexOf(min);
}

/** True for the 1.x result shape (no `version` on ips); 0.3.x and 0.4.0 share the older one. */
export function isV1(v: CniVersion): boolean {
  return versionAtLeast(v, "1.0.0");
}

/** The spec's VERSION result. */
export interface VersionResult {
  cniVersion: string;
  supportedVersions: string[];
}

/**
 * Answers VERSION. The spec echoes the `cniVersion` given on stdin; without a usable one (no
 * stdin, not `x.y.z`) the answer is in the latest version hypha speaks.
 */
export function versionResult(inputVersion?: string): VersionResult {
  const cniVersion = inputVersion && /^\d+\.\d+\.\d+$/.test(inputVersion)
    ? inputVersion
    : LATEST_VERSION;
  return { cniVersion, supportedVersions: [...SUPPORTED_VERSIONS] };
}
