// A flow query from `hypha observe` flags or `GET /v1/flows` query parameters (the same names):
// filter flags (core/flows/filter.ts FILTER_FLAGS; repeated ones OR), `not-<flag>` for what to
// leave out (Hubble's `--not`), `since`/`until`, `last`/`first`, `follow`, `cluster`.
// Every problem is a FlowFilterError naming the flag. The parameters come from clients: their
// number and every value's length are capped (filter.ts MAX_FILTER_VALUES,
// MAX_FILTER_VALUE_LENGTH) before anything else is done with them.
import {
  compileFilters,
  FILTER_FLAGS,
  type FlowFilter,
  FlowFilterError,
  type FlowFilterField,
  type FlowFilterSet,
  isEmpty,
  MAX_FILTER_VALUE_LENGTH,
  MAX_FILTER_VALUES,
} from "./filter.ts";
import type { Flow } from "./flow.ts";
import { formatRfc3339, parseTimeFlag } from "./time.ts";

export interface FlowQuery {
  filters: FlowFilterSet;
  /** Epoch milliseconds, inclusive. */
  since?: number;
  until?: number;
  /** The N most recent matching flows (in time order). */
  last?: number;
  /** The N oldest matching flows. */
  first?: number;
  /** Stream flows as they arrive (after `last` stored ones, if given). */
  follow: boolean;
  /** Ask every node of the cluster. */
  cluster: boolean;
}

const FIELD_BY_FLAG: ReadonlyMap<string, FlowFilterField> = new Map(
  Object.entries(FILTER_FLAGS).map(([field, flag]) => [flag, field as FlowFilterField]),
);

/** Query parameter aliases (the CLI's --node selects the agent, so the filter is --node-name). */
const ALIASES: Readonly<Record<string, string>> = { node: "node-name" };

const SCALARS = ["since", "until", "last", "first", "follow", "cluster"] as const;

/** Every filter flag name (each also as `not-<flag>`). */
export const FILTER_FLAG_NAMES: readonly string[] = Object.values(FILTER_FLAGS);

/** Parses query parameters (or CLI flags turned into them); throws FlowFilterError. */
export function parseFlowQuery(params: URLSearchParams, now: number = Date.now()): FlowQuery {
  const allow: FlowFilter = {};
  const deny: FlowFilter = {};
  const scalars = new Map<string, string>();
  let count = 0;
  for (const [rawName, value] of params) {
    if (++count > MAX_FILTER_VALUES + SCALARS.length) {
      throw new FlowFilterError(
        rawName,
        value,
        `too many query parameters: at most ${MAX_FILTER_VALUES} filter values and ` +
          `${SCALARS.join(", ")}`,
      );
    }
    if (rawName === "") {
      throw new FlowFilterError("", value, "a query parameter has no name (a stray & or =?)");
    }
    if (value.length > MAX_FILTER_VALUE_LENGTH) {
      throw new FlowFilterError(
        rawName,
        value,
        `must be at most ${MAX_FILTER_VALUE_LENGTH} characters`,
      );
    }
    const name = ALIASES[rawName] ?? rawName;
    if ((SCALARS as readonly string[]).includes(name)) {
      if (scalars.has(name)) throw new FlowFilterError(name, value, `--${name} is given twice`);
      scalars.set(name, value);
      continue;
    }
    const negated = name.startsWith("not-");
    const field = FIELD_BY_FLAG.get(negated ? name.slice(4) : name);
    if (!field) {
      throw new FlowFilterError(
        rawName,
        value,
        `unknown filter (known: ${FILTER_FLAG_NAMES.join(", ")}, each also as not-<name>; ` +
          `${SCALARS.join(", ")})`,
      );
    }
    const target = negated ? deny : allow;
    (target[field] ??= []).push(value);
  }
  const filters: FlowFilterSet = {
    ...(isEmpty(allow) ? {} : { allow: [allow] }),
    ...(isEmpty(deny) ? {} : { deny: [deny] }),
  };
  compileFilters(filters); // validates every value
  const q: FlowQuery = {
    filters,
    follow: bool("follow", scalars.get("follow")),
    cluster: bool("cluster", scalars.get("cluster")),
  };
  for (const name of ["since", "until"] as const) {
    const v = scalars.get(name);
    if (v === undefined) continue;
    const t = parseTimeFlag(v, now);
    if (typeof t === "string") throw new FlowFilterError(name, v, t);
    q[name] = t;
  }
  for (const name of ["last", "first"] as const) {
    const v = scalars.get(name);
    if (v === undefined) continue;
    if (!/^[1-9]\d{0,8}$/.test(v)) {
      throw new FlowFilterError(name, v, "must be a positive integer (at most 999999999)");
    }
    q[name] = Number(v);
  }
  if (q.since !== undefined && q.until !== undefined && q.since > q.until) {
    throw new FlowFilterError(
      "since",
      scalars.get("since")!,
      `is after --until "${scalars.get("until")}" (${formatRfc3339(q.since)} > ` +
        `${formatRfc3339(q.until)})`,
    );
  }
  if (q.first !== undefined && q.last !== undefined) {
    throw new FlowFilterError("first", scalars.get("first")!, "cannot be combined with --last");
  }
  if (q.follow) {
    for (const name of ["first", "until"] as const) {
      if (scalars.has(name)) {
        throw new FlowFilterError(
          name,
          scalars.get(name)!,
          "cannot be combined with --follow (it selects stored flows only)",
        );
      }
    }
    if (q.cluster) {
      throw new FlowFilterError(
        "cluster",
        scalars.get("cluster")!,
        "cannot be combined with --follow: the cluster view reads stored flows",
      );
    }
  }
  return q;
}

function bool(name: string, v: string | undefined): boolean {
  if (v === undefined || v === "false" || v === "0") return false;
  if (v === "" || v === "true" || v === "1") return true;
  throw new FlowFilterError(name, v, "must be true or false");
}

/**
 * Query parameters for a query, with absolute times: what a node sends its peers, so every node
 * reads the same time window. `follow` and `cluster` are left out.
 */
export function flowQueryParams(q: FlowQuery): URLSearchParams {
  const out = new URLSearchParams();
  const add = (f: FlowFilter | undefined, prefix: string) => {
    for (const [field, values] of Object.entries(f ?? {})) {
      for (const v of values as string[]) {
        out.append(prefix + FILTER_FLAGS[field as FlowFilterField], v);
      }
    }
  };
  // The parser builds at most one filter of each kind; more cannot be expressed as flags.
  if ((q.filters.allow?.length ?? 0) > 1 || (q.filters.deny?.length ?? 0) > 1) {
    throw new Error("flowQueryParams: several allow or deny filters cannot be sent as flags");
  }
  add(q.filters.allow?.[0], "");
  add(q.filters.deny?.[0], "not-");
  if (q.since !== undefined) out.set("since", formatRfc3339(q.since));
  if (q.until !== undefined) out.set("until", formatRfc3339(q.until));
  if (q.last !== undefined) out.set("last", String(q.last));
  if (q.first !== undefined) out.set("first", String(q.first));
  return out;
}

/**
 * A filter alone (observability.export.filter): query parameters such as
 * `verdict=DROPPED&not-namespace=kube-system`, without times, limits or modes. Throws
 * FlowFilterError.
 */
export function parseFilterSpec(text: string): FlowFilterSet {
  const params = new URLSearchParams(text.startsWith("?") ? text.slice(1) : text);
  for (const name of SCALARS) {
    if (params.has(name)) {
      throw new FlowFilterError(name, params.get(name)!, "is not a filter (only filters here)");
    }
  }
  return parseFlowQuery(params).filters;
}

/**
 * The query a bounded answer runs: at most `max` flows (a peer's observability.peer.maxFlows),
 * the most recent ones unless the query asks for the first. A query that asks for no more than
 * `max` is unchanged; any other asks for `max + 1`, so cutToLimit() can tell whether flows were
 * left out.
 */
export function limitQuery(q: FlowQuery, max: number): FlowQuery {
  const wanted = q.first ?? q.last;
  if (wanted !== undefined && wanted <= max) return q;
  return q.first !== undefined ? { ...q, first: max + 1 } : { ...q, last: max + 1 };
}

/** The answer to limitQuery(q, max), cut to `max` flows; `truncated` when some were left out. */
export function cutToLimit(
  q: FlowQuery,
  flows: Flow[],
  max: number,
): { flows: Flow[]; truncated: boolean } {
  if (flows.length <= max) return { flows, truncated: false };
  return {
    flows: q.first !== undefined ? flows.slice(0, max) : flows.slice(flows.length - max),
    truncated: true,
  };
}
