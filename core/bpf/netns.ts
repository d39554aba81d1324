// Running synchronous kernel calls inside another network namespace (e.g. attaching to an
// interface of a lab node from a test). Only the calling thread switches, and only for the
// duration of `fn`; it must be synchronous, since JS continuations could run elsewhere.
import { closeFd, cstr, lib } from "./_libbpf.ts";
import { BpfError } from "./errors.ts";

const CLONE_NEWNET = 0x40000000;

export function withNetns<T>(nsPath: string, fn: () => T): T {
  const { libc } = lib();
  const self = libc.open(cstr("/proc/thread-self/ns/net"), 0);
  if (self < 0) throw new BpfError("opening the current network namespace", 2);
  const target = libc.open(cstr(nsPath), 0);
  if (target < 0) {
    closeFd(self);
    throw new BpfError(`opening network namespace "${nsPath}"`, 2, "does it exist?");
  }
  try {
    if (libc.setns(target, CLONE_NEWNET) < 0) {
      throw new BpfError(`entering network namespace "${nsPath}"`, 1, "needs CAP_SYS_ADMIN");
    }
    try {
      return fn();
    } finally {
      if (libc.setns(self, CLONE_NEWNET) < 0) {
        // Cannot happen for our own namespace; staying in the wrong one would be worse than dying.
        console.error("hypha: cannot return to the original network namespace");
        Deno.exit(70);
      }
    }
  } finally {
    closeFd(target);
    closeFd(self);
  }
}
