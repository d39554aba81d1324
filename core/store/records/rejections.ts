// Reporting rejected records: a row in the state's `rejected` table (what `hypha status`,
// `hypha node list` and the metrics show) and a log line. Each source reports the kinds it reads
// through its own Rejections. Log lines are bounded: at most one per record per minute and a few
// per second overall (a store full of bad records must not flood the log); the next line that
// is written says how many were left out.
import type { Logger } from "../../plugin/plugin.ts";
import { type RecordKind, rejectedKey, type RejectedRecord, type Table } from "../../state/mod.ts";

export interface RejectionsOptions {
  /** Milliseconds between two log lines about the same record (default 60 s). */
  perRecordMs?: number;
  /** Log lines about rejections per second overall (default 5). */
  perSecond?: number;
  now?: () => number;
}

/** Longest text of a log line's issues. */
const ISSUES_CHARS = 600;

export function issuesText(r: Pick<RejectedRecord, "issues">): string {
  const text = r.issues.map((i) => `${i.path || "(record)"}: ${i.message}`).join("; ");
  return text.length > ISSUES_CHARS ? `${text.slice(0, ISSUES_CHARS - 3)}...` : text;
}

export class Rejections {
  readonly #table: Table<RejectedRecord>;
  readonly #log: Logger;
  readonly #perRecordMs: number;
  readonly #perSecond: number;
  readonly #now: () => number;
  /** Table key -> when a line about it was last written. */
  readonly #logged = new Map<string, number>();
  /** Keys whose rejection was logged and whose clearing was not yet: one line each way. */
  readonly #announced = new Set<string>();
  #second = 0;
  #inSecond = 0;
  #suppressed = 0;

  constructor(table: Table<RejectedRecord>, log: Logger, o: RejectionsOptions = {}) {
    this.#table = table;
    this.#log = log;
    this.#perRecordMs = o.perRecordMs ?? 60_000;
    this.#perSecond = o.perSecond ?? 5;
    this.#now = o.now ?? Date.now;
  }

  /** Reports `r` (replacing what was reported under its key). */
  reject(r: RejectedRecord): void {
    const key = rejectedKey(r);
    if (!this.#table.upsertChanged(key, r)) return;
    if (!this.#mayLog(key)) return;
    this.#log.warn(
      `${r.kind} record rejected; ${
        r.keeping ? "its last accepted version stays in force" : "it is not used"
      }`,
      {
        source: r.source,
        issues: issuesText(r),
        ...(this.#suppressed ? { notLogged: this.#suppressed } : {}),
      },
    );
    this.#suppressed = 0;
    this.#announced.add(key);
  }

  /** The record under `key` is accepted again, or gone: its report goes. */
  clear(key: string): void {
    const cur = this.#table.get(key);
    if (!cur || !this.#table.delete(key)) return;
    if (this.#announced.delete(key) && this.#withinRate()) {
      this.#log.info(`${cur.kind} record no longer rejected`, { source: cur.source });
    }
  }

  /** Clears the reports of `kinds` that `keep` does not name (after a full listing). */
  retain(kinds: readonly RecordKind[], keep: (key: string) => boolean): void {
    for (const [key, r] of this.#table.entries()) {
      if (kinds.includes(r.kind) && !keep(key)) this.clear(key);
    }
  }

  #mayLog(key: string): boolean {
    const now = this.#now();
    const last = this.#logged.get(key);
    if (last !== undefined && now - last < this.#perRecordMs) return false;
    if (!this.#withinRate()) return false;
    this.#logged.set(key, now);
    if (this.#logged.size > 10_000) {
      for (const [k, t] of this.#logged) if (now - t >= this.#perRecordMs) this.#logged.delete(k);
    }
    return true;
  }

  /** Whether the overall budget of lines in this second has room (counts the line if so). */
  #withinRate(): boolean {
    const second = Math.floor(this.#now() / 1000);
    if (second !== this.#second) [this.#second, this.#inSecond] = [second, 0];
    if (this.#inSecond >= this.#perSecond) {
      this.#suppressed++;
      return false;
    }
    this.#inSecond++;
    return true;
  }
}
