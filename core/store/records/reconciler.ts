// Stored records in, checked rows out. Sources hand over what they listed or watched (key, value,
// revision); each record is read against its kind's shape and checked against what the cluster
// already knows; an accepted record becomes its table's row, a rejected one is reported
// (rejections.ts) and never reaches a table. Records of one batch (a listing, or the events of
// one store revision) are all taken in before any is checked, so the keys of one transaction
// (an identity's number and its label index entry) are judged together.
//
// Dependencies: a kind can name what must be checked again when one of its rows changes (a pod
// CIDR claim: every node; a node: its endpoints; a label index entry: the identities of those
// labels). Kinds are checked in the order given, dependencies first.
//
// A record that turns bad keeps its last accepted row (reported with `keeping`): a bad write
// must not take away what worked, just as an unreachable store keeps what was last known.
// Deleting the record removes the row. Nothing here throws: a check that fails unexpectedly
// rejects its record, and a failing table subscriber is logged.
import type { Logger } from "../../plugin/plugin.ts";
import {
  type RecordIssue,
  type RecordKind,
  rejectedKey,
  type RejectedRecord,
  type Table,
} from "../../state/mod.ts";
import type { Read } from "./shapes.ts";
import type { Rejections } from "./rejections.ts";

export interface StoredRecord {
  key: string;
  value: string;
  modRevision: bigint;
}

export interface RecordChange extends StoredRecord {
  type: "put" | "delete";
}

/** What must be checked again: every record of a kind, or those of one group. */
export type Affected = { kind: RecordKind; all: true } | { kind: RecordKind; group: string };

/** How one kind of record is read, checked and turned into a row. */
export interface KindSpec<S = unknown, R = unknown> {
  kind: RecordKind;
  /** The store prefix of the kind's keys; the rest of a key is its suffix. */
  prefix: string;
  table: Table<R>;
  /** The table key of a suffix, or undefined when this node leaves the key alone. */
  rowKey(suffix: string): string | undefined;
  /** Namespace and name shown in reports. */
  name(suffix: string): { namespace: string; name: string };
  /** The value's shape and its key's format. */
  read(suffix: string, value: string): Read<S>;
  /** Whatever else it must agree with (run only when `read` passed). */
  check?(suffix: string, value: S): RecordIssue[];
  row(suffix: string, value: S, revision: bigint): R;
  /** Whether a row of the table is this source's to remove. */
  owns(row: R): boolean;
  /** A group for dependants to name (an endpoint's node, an identity's label digest). */
  group?(suffix: string, read: Read<S>): string | undefined;
  /** What depends on a row that changed (`row` undefined: removed). */
  affects?(rowKey: string, row: R | undefined, previous: R | undefined): Affected[];
  onChange?(rowKey: string, row: R | undefined, previous: R | undefined): void;
}

interface Entry {
  suffix: string;
  source: string;
  revision: bigint;
  read: Read<unknown>;
  group: string | undefined;
}

interface KindState {
  spec: KindSpec;
  entries: Map<string, Entry>;
  groups: Map<string, Set<string>>;
  dirty: Set<string> | "all";
}

export class RecordReconciler {
  readonly #kinds: KindState[];
  readonly #rejections: Rejections;
  readonly #log: Logger;

  /** `specs` in check order: a kind before the kinds it affects. */
  constructor(specs: KindSpec[], rejections: Rejections, log: Logger) {
    this.#kinds = specs.map((spec) => ({
      spec,
      entries: new Map(),
      groups: new Map(),
      dirty: new Set(),
    }));
    this.#rejections = rejections;
    this.#log = log;
  }

  /** Everything under the kinds' prefixes at one revision: replaces what was known. */
  replaceAll(records: StoredRecord[]): void {
    this.#guard("a listing", () => {
      // A re-list (after a compaction) reads again only what changed since it was read.
      const known = new Map<string, Entry>();
      for (const k of this.#kinds) {
        for (const e of k.entries.values()) known.set(e.source, e);
        k.entries.clear();
        k.groups.clear();
        k.dirty = "all";
      }
      for (const r of records) {
        const e = known.get(r.key);
        this.#take({ ...r, type: "put" }, e?.revision === r.modRevision ? e : undefined);
      }
      for (const k of this.#kinds) {
        // rows and reports of keys that are gone
        for (const [rowKey, row] of k.spec.table.entries()) {
          if (!k.entries.has(rowKey) && k.spec.owns(row)) this.#write(k, rowKey, undefined);
        }
      }
      const present = new Set(
        this.#kinds.flatMap((k) => [...k.entries.values()].map((e) => this.#reportKey(k, e))),
      );
      this.#rejections.retain(this.#kinds.map((k) => k.spec.kind), (key) => present.has(key));
      this.#settle();
    });
  }

  /** Changes of one batch (a store revision, or several in order). */
  apply(changes: RecordChange[]): void {
    this.#guard("a batch of changes", () => {
      for (const c of changes) this.#take(c);
      this.#settle();
    });
  }

  #guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      // A bug, not a record: logged, and the next batch carries on.
      this.#log.error(`checking ${what} of stored records failed`, { error: String(err) });
    }
  }

  #kindOf(key: string): KindState | undefined {
    return this.#kinds.find((k) => key.startsWith(k.spec.prefix));
  }

  /** Takes in one change; `same` is the entry already read from this very revision. */
  #take(c: RecordChange, same?: Entry): void {
    const k = this.#kindOf(c.key);
    if (!k) return;
    const suffix = c.key.slice(k.spec.prefix.length);
    const rowKey = k.spec.rowKey(suffix);
    if (rowKey === undefined) return;
    const old = k.entries.get(rowKey);
    if (old?.group !== undefined) k.groups.get(old.group)?.delete(rowKey);
    if (c.type === "delete") {
      k.entries.delete(rowKey);
      this.#rejections.clear(rejectedKey({ kind: k.spec.kind, ...k.spec.name(suffix) }));
    } else {
      let read: Read<unknown>;
      try {
        read = same?.read ?? k.spec.read(suffix, c.value);
      } catch (err) {
        read = { ok: false, issues: [{ path: "", message: `Unreadable: ${err}` }] };
      }
      const group = same ? same.group : k.spec.group?.(suffix, read);
      k.entries.set(rowKey, { suffix, source: c.key, revision: c.modRevision, read, group });
      if (group !== undefined) {
        const set = k.groups.get(group) ?? new Set();
        set.add(rowKey);
        k.groups.set(group, set);
      }
    }
    if (k.dirty !== "all") k.dirty.add(rowKey);
  }

  #settle(): void {
    for (const k of this.#kinds) {
      const keys = k.dirty === "all"
        ? new Set([...k.entries.keys(), ...k.spec.table.entries().map(([key]) => key)])
        : k.dirty;
      k.dirty = new Set();
      for (const rowKey of keys) this.#evaluate(k, rowKey);
    }
  }

  #reportKey(k: KindState, e: Entry): string {
    return rejectedKey({ kind: k.spec.kind, ...k.spec.name(e.suffix) });
  }

  #evaluate(k: KindState, rowKey: string): void {
    const e = k.entries.get(rowKey);
    const current = k.spec.table.get(rowKey);
    if (!e) {
      if (current !== undefined && k.spec.owns(current)) this.#write(k, rowKey, undefined);
      return;
    }
    let issues: RecordIssue[];
    let row: unknown;
    try {
      issues = e.read.ok ? k.spec.check?.(e.suffix, e.read.value) ?? [] : e.read.issues;
      if (e.read.ok && issues.length === 0) row = k.spec.row(e.suffix, e.read.value, e.revision);
    } catch (err) {
      issues = [{ path: "", message: `Could not be checked: ${err}` }];
    }
    const reportKey = this.#reportKey(k, e);
    if (issues.length === 0) {
      this.#write(k, rowKey, row);
      this.#rejections.clear(reportKey);
      return;
    }
    const report: RejectedRecord = {
      kind: k.spec.kind,
      ...k.spec.name(e.suffix),
      source: e.source,
      issues,
      ...(current !== undefined && k.spec.owns(current) ? { keeping: true } : {}),
    };
    this.#rejections.reject(report);
  }

  /** Writes (or removes) a row; what depends on it is marked for checking. */
  #write(k: KindState, rowKey: string, row: unknown): void {
    const previous = k.spec.table.get(rowKey);
    let changed: boolean;
    try {
      changed = row === undefined ? k.spec.table.delete(rowKey) : k.spec.table.upsertChanged(
        rowKey,
        row,
      );
    } catch (err) {
      // the row is written; a reader of the table failed on it
      this.#log.error("a reader of a state table failed", {
        table: k.spec.table.name,
        key: rowKey,
        error: String(err),
      });
      changed = true;
    }
    if (!changed) return;
    try {
      k.spec.onChange?.(rowKey, row, previous);
      for (const a of k.spec.affects?.(rowKey, row, previous) ?? []) this.#mark(a);
    } catch (err) {
      this.#log.error("following a changed row failed", { key: rowKey, error: String(err) });
    }
  }

  #mark(a: Affected): void {
    const k = this.#kinds.find((x) => x.spec.kind === a.kind);
    if (!k || k.dirty === "all") return;
    if ("all" in a) k.dirty = "all";
    else for (const rowKey of k.groups.get(a.group) ?? []) k.dirty.add(rowKey);
  }
}
