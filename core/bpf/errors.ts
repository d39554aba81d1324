// Typed errors for everything core/bpf does. Each says what was being done, wraps the errno and,
// where it helps, how to fix it.

/** errno -> [symbolic name, what it means for a BPF operation]. */
const ERRNOS: Record<number, [string, string]> = {
  1: ["EPERM", "operation not permitted"],
  2: ["ENOENT", "no such file or entry"],
  3: ["ESRCH", "no such process"],
  4: ["EINTR", "interrupted"],
  7: ["E2BIG", "argument list too long"],
  9: ["EBADF", "bad file descriptor"],
  11: ["EAGAIN", "resource temporarily unavailable"],
  12: ["ENOMEM", "out of memory"],
  13: ["EACCES", "permission denied"],
  14: ["EFAULT", "bad address"],
  16: ["EBUSY", "device or resource busy"],
  17: ["EEXIST", "already exists"],
  19: ["ENODEV", "no such device"],
  20: ["ENOTDIR", "not a directory"],
  22: ["EINVAL", "invalid argument"],
  24: ["EMFILE", "too many open files"],
  28: ["ENOSPC", "no space left (map full?)"],
  34: ["ERANGE", "out of range"],
  38: ["ENOSYS", "function not implemented"],
  95: ["EOPNOTSUPP", "operation not supported"],
  524: ["ENOTSUPP", "operation not supported"],
};

export function errnoName(errno: number): string {
  return ERRNOS[errno]?.[0] ?? `errno ${errno}`;
}

/** Any failure of a BPF operation: `op` says what was being done, `errno` is positive. */
export class BpfError extends Error {
  override name = "BpfError";
  constructor(
    readonly op: string,
    readonly errno: number,
    detail?: string,
  ) {
    const text = ERRNOS[errno]?.[1] ?? "failed";
    super(`${op}: ${text} (${errnoName(errno)})${detail ? `: ${detail}` : ""}`);
  }
}

/** The kernel lacks a feature hypha needs: names the feature and what is missing. */
export class NotSupportedError extends BpfError {
  override name = "NotSupportedError";
  constructor(readonly feature: string, readonly requirement: string, errno = 95) {
    super(`${feature} is not supported by this kernel`, errno, requirement);
  }
}

/** The verifier rejected a program; `log` is its full log. */
export class VerifierError extends BpfError {
  override name = "VerifierError";
  constructor(readonly program: string, errno: number, readonly log: string) {
    super(`loading program "${program}" was rejected by the verifier`, errno, lastLines(log, 8));
  }
}

/** EPERM/EACCES: hypha needs root, or CAP_BPF + CAP_NET_ADMIN (+ CAP_PERFMON for some maps). */
export class PermissionError extends BpfError {
  override name = "PermissionError";
  constructor(op: string, errno: number) {
    super(op, errno, "run as root, or grant CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON");
  }
}

/** A pinned map exists but its layout differs from what the object declares. */
export class PinnedMapMismatchError extends BpfError {
  override name = "PinnedMapMismatchError";
  constructor(readonly path: string, readonly differences: string[]) {
    super(
      `reusing pinned map "${path}"`,
      22,
      `its layout changed (${differences.join(", ")}); ` +
        "run `hypha cleanup` to remove the old datapath, then start the agent again",
    );
  }
}

/** Builds the right error class for a negative return code `ret` from `op`. */
export function bpfError(op: string, ret: number, detail?: string): BpfError {
  const errno = Math.abs(ret);
  if (errno === 1 || errno === 13) return new PermissionError(op, errno);
  return new BpfError(op, errno, detail);
}

function lastLines(text: string, n: number): string {
  const lines = text.trimEnd().split("\n");
  return lines.slice(-n).join("\n");
}
