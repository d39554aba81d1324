// Typed errors for core/ipam. Every message quotes the value it is about (JSON-quoted, so odd
// characters stay visible) and gives the reason after a colon:
//   Invalid CIDR "10.0.0.0/33": prefix length must be 0-32 for IPv4
// Callers can branch on the class: `IpamExhaustedError` is "try a bigger range",
// `IpamConflictError` is "someone else owns it" (HTTP 409), anything else is bad input.

/** Quotes a value for an error message: `"10.0.0.1"`, with quotes and control characters escaped. */
export function quote(value: unknown): string {
  return JSON.stringify(String(value));
}

/** Base class of every error core/ipam throws. */
export class IpamError extends Error {
  override name = "IpamError";
}

/** Text that is not an IP address; `reason` is the detail after the colon. */
export class InvalidIpError extends IpamError {
  override name = "InvalidIpError";
  constructor(readonly value: string, readonly reason: string) {
    super(`Invalid IP address ${quote(value)}: ${reason}`);
  }
}

/** Text (or an address and length) that is not a CIDR; `reason` is the detail after the colon. */
export class InvalidCidrError extends IpamError {
  override name = "InvalidCidrError";
  constructor(readonly value: string, readonly reason: string) {
    super(`Invalid CIDR ${quote(value)}: ${reason}`);
  }
}

/**
 * Every allocatable address (or node CIDR) of `cidr` is in use. `capacity` is how many the range
 * can hand out in total, so the message can say how small the range is.
 */
export class IpamExhaustedError extends IpamError {
  override name = "IpamExhaustedError";
  constructor(readonly cidr: string, readonly capacity: bigint, what: string, detail: string) {
    super(`No free ${what} in ${quote(cidr)}: ${detail}`);
  }
}

/** The address or CIDR asked for is already allocated to `owner`, who is not the caller. */
export class IpamConflictError extends IpamError {
  override name = "IpamConflictError";
  constructor(message: string, readonly owner: string) {
    super(message);
  }
}

/** Owners are opaque non-empty strings (a node name, a pod's namespace/name, an endpoint id). */
export function checkOwner(owner: string): void {
  if (typeof owner !== "string" || owner === "") {
    throw new IpamError(`Invalid owner ${quote(owner)}: must be a non-empty string`);
  }
}
