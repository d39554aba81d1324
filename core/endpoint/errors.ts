// hypha's own CNI error codes (the spec leaves 100 and above to plugins). Each names a
// situation an operator can act on; core/cni's CniError carries them to the runtime.
import { CniError } from "../cni/errors.ts";

export const HyphaCniCode = {
  /** An unexpected failure inside the agent; details carry the cause. */
  Internal: 100,
  /** ADD for a container/interface that already has an endpoint. */
  DuplicateAttachment: 101,
  /** The node's pod CIDR has no free address. */
  PodCidrExhausted: 102,
  /** The node has no pod CIDR yet (cluster store not reached). */
  NotReady: 103,
  /** CHECK found the endpoint differs from what was set up. */
  CheckFailed: 104,
} as const;

export function cniError(code: number, msg: string, details?: string): CniError {
  return new CniError(code, msg, details);
}
