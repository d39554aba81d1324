// The cluster view's merge: flows from several nodes into one time order, then the query's
// `last`/`first` over the whole (each node already applied it to its own flows).
import type { Flow } from "./flow.ts";
import { flowTimeMs } from "./time.ts";

export interface MergeOptions {
  last?: number;
  first?: number;
}

/** Flows of every node in time order (stable: a node's own order is kept for equal times). */
export function mergeFlows(
  perNode: ReadonlyArray<readonly Flow[]>,
  opts: MergeOptions = {},
): Flow[] {
  const keyed: Array<{ t: number; f: Flow }> = [];
  for (const flows of perNode) for (const f of flows) keyed.push({ t: flowTimeMs(f), f });
  keyed.sort((a, b) => a.t - b.t);
  const all = keyed.map((k) => k.f);
  if (opts.first !== undefined) return all.slice(0, opts.first);
  if (opts.last !== undefined) return all.slice(Math.max(0, all.length - opts.last));
  return all;
}
