// Flow export: every flow (or every one a filter lets through) appended to a file as one JSON line
// in the shape `hubble observe -o json` prints (`{"flow": {...}, "node_name": ..., "time": ...}`),
// like Hubble's exporter. `add()` never waits: lines are buffered and written every
// `flushIntervalMs`, when the buffer grows, and on close. The file rotates by size: `name` becomes
// `name.1`, `name.1` becomes `name.2`, ... and the oldest beyond `maxBackups` is removed. Write
// errors are counted (and the file reopened on the next flush), never thrown at the caller; when
// the disk does not keep up, lines beyond the buffer bound are dropped and counted.
import { dirname } from "node:path";
import type { Flow } from "./flow.ts";
import { jsonLine } from "./format.ts";
import type { FlowPredicate } from "./filter.ts";

export interface FlowExporterOptions {
  path: string;
  /** Rotate before the file would grow beyond this (a single longer line still gets written). */
  maxSizeBytes: number;
  /** Rotated files kept (`name.1` ... `name.N`); 0 = none, the file starts over. */
  maxBackups: number;
  /** Only flows that match are exported. */
  filter?: FlowPredicate;
  /** Default 1000. */
  flushIntervalMs?: number;
  /** Buffered text beyond which flows are dropped (default 8 MiB). */
  maxBufferedBytes?: number;
  /** Told about write errors (they are also counted); the caller rate-limits its logging. */
  onError?: (err: Error) => void;
}

export interface ExporterStats {
  path: string;
  /** Lines written to disk. */
  written: number;
  /** Flows the filter left out. */
  filtered: number;
  /** Flows dropped because the buffer was full (the disk did not keep up). */
  dropped: number;
  /** Lines lost to write errors, and the last error. */
  writeErrors: number;
  lastError?: string;
  rotations: number;
  /** Bytes in the current file. */
  fileBytes: number;
  bufferedBytes: number;
}

const FLUSH_AT_BYTES = 256 * 1024;
const encoder = new TextEncoder();

export class FlowExporter {
  readonly #opts: Required<Omit<FlowExporterOptions, "filter" | "onError">> & FlowExporterOptions;
  #file: Deno.FsFile | undefined;
  #fileBytes = 0;
  #lines: string[] = [];
  #bufferedBytes = 0;
  #chain: Promise<void> = Promise.resolve();
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #stats = { written: 0, filtered: 0, dropped: 0, writeErrors: 0, rotations: 0 };
  #lastError: string | undefined;

  private constructor(opts: FlowExporterOptions) {
    this.#opts = { flushIntervalMs: 1000, maxBufferedBytes: 8 * 1024 * 1024, ...opts };
  }

  /** Opens (creating) the file for appending and starts the periodic flush. */
  static async open(opts: FlowExporterOptions): Promise<FlowExporter> {
    if (!opts.path.startsWith("/")) throw new Error(`Export path "${opts.path}" must be absolute`);
    if (!(opts.maxSizeBytes > 0)) throw new Error("Export maxSizeBytes must be positive");
    const e = new FlowExporter(opts);
    await Deno.mkdir(dirname(opts.path), { recursive: true });
    await e.#openFile(false);
    e.#timer = setInterval(() => void e.flush(), e.#opts.flushIntervalMs);
    Deno.unrefTimer(e.#timer as unknown as number);
    return e;
  }

  /** Buffers one flow (if the filter lets it through). Never waits, never throws. */
  add(flow: Flow): void {
    if (this.#closed) return;
    if (this.#opts.filter && !this.#opts.filter(flow)) {
      this.#stats.filtered++;
      return;
    }
    if (this.#bufferedBytes >= this.#opts.maxBufferedBytes) {
      this.#stats.dropped++;
      return;
    }
    let line: string;
    try {
      line = jsonLine(flow) + "\n";
    } catch (err) {
      this.#fail(err, 1);
      return;
    }
    this.#lines.push(line);
    this.#bufferedBytes += line.length;
    if (this.#bufferedBytes >= FLUSH_AT_BYTES) void this.flush();
  }

  /** Writes what is buffered; resolves when it is on disk (or counted as failed). */
  flush(): Promise<void> {
    this.#chain = this.#chain.then(() => this.#writeBuffered());
    return this.#chain;
  }

  /** Flushes, stops the timer and closes the file. */
  async close(): Promise<void> {
    if (this.#closed) return await this.#chain;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.flush();
    this.#file?.close();
    this.#file = undefined;
  }

  stats(): ExporterStats {
    return {
      path: this.#opts.path,
      ...this.#stats,
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
      fileBytes: this.#fileBytes,
      bufferedBytes: this.#bufferedBytes,
    };
  }

  async #writeBuffered(): Promise<void> {
    if (!this.#lines.length) return;
    const lines = this.#lines;
    this.#lines = [];
    this.#bufferedBytes = 0;
    let parts: Uint8Array[] = [];
    let partBytes = 0;
    let partLines = 0;
    const writeParts = async () => {
      if (!partLines) return;
      const chunk = concat(parts, partBytes);
      const n = partLines;
      parts = [];
      partBytes = 0;
      partLines = 0;
      try {
        if (!this.#file) await this.#openFile(false);
        await writeAll(this.#file!, chunk);
        this.#fileBytes += chunk.length;
        this.#stats.written += n;
      } catch (err) {
        this.#fail(err, n);
        this.#file?.close();
        this.#file = undefined;
      }
    };
    for (const line of lines) {
      const bytes = encoder.encode(line);
      if (
        this.#fileBytes + partBytes > 0 &&
        this.#fileBytes + partBytes + bytes.length > this.#opts.maxSizeBytes
      ) {
        await writeParts();
        await this.#rotate();
      }
      parts.push(bytes);
      partBytes += bytes.length;
      partLines++;
    }
    await writeParts();
  }

  async #rotate(): Promise<void> {
    const { path, maxBackups } = this.#opts;
    this.#file?.close();
    this.#file = undefined;
    try {
      if (maxBackups === 0) {
        await Deno.remove(path).catch(ignoreNotFound);
      } else {
        for (let i = maxBackups - 1; i >= 1; i--) {
          await Deno.rename(`${path}.${i}`, `${path}.${i + 1}`).catch(ignoreNotFound);
        }
        await Deno.rename(path, `${path}.1`).catch(ignoreNotFound);
      }
      this.#stats.rotations++;
      await this.#openFile(true);
    } catch (err) {
      this.#fail(err, 0);
    }
  }

  async #openFile(truncate: boolean): Promise<void> {
    this.#file = await Deno.open(this.#opts.path, {
      create: true,
      append: !truncate,
      write: true,
      truncate,
      mode: 0o600,
    });
    this.#fileBytes = truncate ? 0 : (await this.#file.stat()).size;
  }

  #fail(err: unknown, lines: number): void {
    const e = err instanceof Error ? err : new Error(String(err));
    this.#stats.writeErrors += lines;
    this.#lastError = `${this.#opts.path}: ${e.message}`;
    try {
      this.#opts.onError?.(e);
    } catch {
      // the caller's logger must not break the exporter
    }
  }
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let at = 0;
  while (at < data.length) at += await file.write(data.subarray(at));
}

function ignoreNotFound(err: unknown): void {
  if (!(err instanceof Deno.errors.NotFound)) throw err;
}
