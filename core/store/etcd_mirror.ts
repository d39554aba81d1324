// Mirroring one etcd prefix into a state table: the listing replaces the rows the mirror owns,
// then watch events keep them current (resuming from the last revision across reconnects).
// Rows are written only when they change, so a reconnect or a re-list writes nothing.
import type { EtcdClient, KeyValue, Watch } from "../etcd/mod.ts";
import type { Logger } from "../plugin/plugin.ts";
import type { Table } from "../state/mod.ts";

export interface Mirror<T> {
  prefix: string;
  table: Table<T>;
  /** The table key for a stored key, or undefined when this mirror leaves that key alone. */
  rowKey(storeKey: string): string | undefined;
  /** The row for a stored value; throws when it is unreadable (logged, skipped). */
  decode(storeKey: string, value: string, revision: bigint): T;
  /** Whether a table row is this mirror's to remove (e.g. not a local endpoint). */
  owns(rowKey: string, row: T): boolean;
  /** Called after a row appeared or went away (for log lines). */
  onChange?(kind: "added" | "removed", rowKey: string, row: T): void;
  /** Called with the store revision each listing or batch of events brought the table to. */
  onRevision?(revision: bigint): void;
}

export function mirrorPrefix<T>(
  client: EtcdClient,
  m: Mirror<T>,
  log: Logger,
  onSynced: () => void,
): Watch {
  const put = (key: string, value: string, revision: bigint) => {
    const rowKey = m.rowKey(key);
    if (rowKey === undefined) return undefined;
    let row: T;
    try {
      row = m.decode(key, value, revision);
    } catch (err) {
      log.warn("ignoring an unreadable record", { key, error: String(err) });
      return undefined;
    }
    const added = m.table.get(rowKey) === undefined;
    if (m.table.upsertChanged(rowKey, row) && added) m.onChange?.("added", rowKey, row);
    return rowKey;
  };
  const remove = (rowKey: string) => {
    const cur = m.table.get(rowKey);
    if (cur !== undefined && m.table.delete(rowKey)) m.onChange?.("removed", rowKey, cur);
  };
  return client.listAndWatch(m.prefix, {
    onSnapshot: (kvs: KeyValue[], revision: bigint) => {
      const seen = new Set<string>();
      for (const kv of kvs) {
        const k = put(kv.key, kv.value, kv.modRevision);
        if (k !== undefined) seen.add(k);
      }
      for (const [rowKey, row] of m.table.entries()) {
        if (!seen.has(rowKey) && m.owns(rowKey, row)) remove(rowKey);
      }
      m.onRevision?.(revision);
      onSynced();
    },
    onEvents: (events, revision) => {
      for (const e of events) {
        if (e.type === "put") put(e.key, e.value, e.modRevision);
        else {
          const rowKey = m.rowKey(e.key);
          if (rowKey !== undefined) remove(rowKey);
        }
      }
      m.onRevision?.(revision);
    },
  });
}
