// core/state: the typed state tables every source writes and every reconciler reads.
import { type ReadonlyTable, Table } from "./table.ts";

export { type Change, type ReadonlyTable, Table } from "./table.ts";

export interface NodeInfo {
  name: string;
  cluster: string;
  addresses: string[];
}

/** The tables of a node; pod networking, services and policy add theirs. */
export interface State {
  nodes: Table<NodeInfo>;
}

/** What plugins see: the same tables, read-only. */
export interface StateView {
  nodes: ReadonlyTable<NodeInfo>;
}

export function createState(): State {
  return { nodes: new Table<NodeInfo>("nodes") };
}
