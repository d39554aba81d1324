// Writing a state file durably: the content goes to a temp file in the same directory, which is
// fsynced, renamed over the target, and the directory fsynced. A crash (kill -9, power loss) at
// any point leaves the target with either its old or its new content, never a mix or an empty
// file; at worst a `*.tmp` file stays behind, which removeStaleTemps() clears at the next start.
import { basename, dirname, join } from "node:path";

export interface StateWriteOptions {
  /** Permission bits of the file (umask does not apply). Default 0o600: state is the agent's. */
  mode?: number;
}

const DEFAULT_MODE = 0o600;
const encoder = new TextEncoder();

/** The temp file a write goes through: `<name>.<random>.tmp` beside the target. */
export function tempPathFor(path: string): string {
  const random = crypto.getRandomValues(new Uint8Array(4));
  const hex = [...random].map((b) => b.toString(16).padStart(2, "0")).join("");
  return join(dirname(path), `${basename(path)}.${hex}.tmp`);
}

function bytesOf(data: string | Uint8Array): Uint8Array {
  return typeof data === "string" ? encoder.encode(data) : data;
}

function writeError(path: string, err: unknown): Error {
  return new Error(`Cannot write state file "${path}": ${(err as Error).message}`, { cause: err });
}

/** Writes to one path run in call order, so an older content never lands after a newer one. */
const queues = new Map<string, Promise<void>>();

/**
 * Replaces `path` with `data` durably (see the top of this file). Concurrent writes to one path
 * are applied in call order. Throws an error naming the path; the target is then unchanged.
 */
export function writeStateFile(
  path: string,
  data: string | Uint8Array,
  opts: StateWriteOptions = {},
): Promise<void> {
  const bytes = bytesOf(data);
  return inOrder(path, () => writeNow(path, bytes, opts.mode ?? DEFAULT_MODE));
}

function inOrder(path: string, fn: () => Promise<void>): Promise<void> {
  const done = (queues.get(path) ?? Promise.resolve()).then(fn);
  const tail = done.catch(() => {});
  queues.set(path, tail);
  tail.then(() => {
    if (queues.get(path) === tail) queues.delete(path);
  });
  return done;
}

async function writeNow(path: string, bytes: Uint8Array, mode: number): Promise<void> {
  const tmp = tempPathFor(path);
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true, mode });
    try {
      await Deno.chmod(tmp, mode);
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw writeError(path, err);
  }
  await syncDir(dirname(path)).catch((err) => {
    throw writeError(path, err);
  });
}

/** fsync of a directory: makes a rename (or a removal) in it durable. */
export async function syncDir(dir: string): Promise<void> {
  const d = await Deno.open(dir, { read: true });
  try {
    await d.sync();
  } finally {
    d.close();
  }
}

/**
 * writeStateFile() for callers that must stay synchronous (a kernel reconciler that records
 * what it attached in the same step). Not ordered against pending async writes of the path.
 */
export function writeStateFileSync(
  path: string,
  data: string | Uint8Array,
  opts: StateWriteOptions = {},
): void {
  const bytes = bytesOf(data);
  const mode = opts.mode ?? DEFAULT_MODE;
  const tmp = tempPathFor(path);
  try {
    const file = Deno.openSync(tmp, { write: true, createNew: true, mode });
    try {
      Deno.chmodSync(tmp, mode);
      let written = 0;
      while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
      file.syncSync();
    } finally {
      file.close();
    }
    Deno.renameSync(tmp, path);
    const d = Deno.openSync(dirname(path), { read: true });
    try {
      d.syncSync();
    } finally {
      d.close();
    }
  } catch (err) {
    try {
      Deno.removeSync(tmp);
    } catch {
      // never created, or renamed already
    }
    throw writeError(path, err);
  }
}

/**
 * Removes a state file durably (its directory fsynced), in order with the writes of the path;
 * a missing file is not an error.
 */
export function removeStateFile(path: string): Promise<void> {
  return inOrder(path, async () => {
    try {
      await Deno.remove(path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return;
      throw new Error(`Cannot remove state file "${path}": ${(err as Error).message}`, {
        cause: err,
      });
    }
    await syncDir(dirname(path));
  });
}

/**
 * Moves a damaged file that nothing can rebuild out of the way (`<name>.damaged`, replacing an
 * older one) so the operator can still recover from it; returns the new path.
 */
export async function setAside(path: string): Promise<string> {
  const aside = `${path}.damaged`;
  await Deno.rename(path, aside);
  await syncDir(dirname(path));
  return aside;
}
