// @ts-check
// The UI's pure model, shared by the page and its Deno unit tests (no DOM here): which workload
// an endpoint belongs to, the worst verdict of an edge, the bounded flow list, the service map
// graph built from it, and the filter bar's query parameters.
//
// Plain JavaScript so the browser loads it as is (no build step); type-checked by `deno check`
// through the JSDoc types below, which name the agent's Flow type (core/flows/flow.ts).

/** @typedef {import("../../flows/flow.ts").Flow} Flow */
/** @typedef {import("../../flows/flow.ts").FlowEndpoint} FlowEndpoint */

/**
 * A node of the service map. `key` is what tests address (`workload:<key>`): "ns/name" for pods,
 * the reserved name ("world", "host", ...) or the IP for everything outside namespaces.
 * @typedef {{ key: string, namespace: string, name: string }} WorkloadRef
 */

/**
 * @typedef {object} GraphNode
 * @property {string} key
 * @property {string} namespace "" for endpoints outside namespaces
 * @property {string} name
 * @property {string[]} ports destination ports seen on it ("80/TCP"), sorted
 * @property {string} verdict the worst verdict of any flow to or from it
 * @property {number} flows
 */

/**
 * @typedef {object} GraphEdge
 * @property {string} key "from->to"
 * @property {string} from
 * @property {string} to
 * @property {number} count flows on the edge
 * @property {string} verdict the worst verdict seen (dropped beats audit beats forwarded)
 * @property {Record<string, number>} verdicts flows per verdict
 * @property {Record<string, number>} dropReasons drops per reason
 * @property {string[]} ports destination ports ("80/TCP"), sorted
 */

/** @typedef {{ namespace: string, nodes: GraphNode[] }} GraphGroup */
/** @typedef {{ groups: GraphGroup[], edges: GraphEdge[] }} Graph */

/** Cilium's reserved identities by number, for endpoints that carry no labels. */
const RESERVED_BY_IDENTITY = /** @type {Record<number, string>} */ ({
  1: "host",
  2: "world",
  3: "unmanaged",
  4: "health",
  5: "init",
  6: "remote-node",
  7: "kube-apiserver",
  8: "ingress",
  9: "world",
  10: "world",
});

const NAMESPACE_LABEL = "io.kubernetes.pod.namespace";

/**
 * The value of label `key` from any source (`k8s:app=web` -> "web" for "app").
 * @param {readonly string[] | undefined} labels
 * @param {string} key
 * @returns {string | undefined}
 */
function labelValue(labels, key) {
  for (const label of labels ?? []) {
    const colon = label.indexOf(":");
    const rest = colon >= 0 ? label.slice(colon + 1) : label;
    if (rest.startsWith(`${key}=`)) return rest.slice(key.length + 1);
  }
  return undefined;
}

/**
 * The map node of one side of a flow: `workloads[0].name`, else the `app` label, else the pod
 * name, within the endpoint's namespace; endpoints outside namespaces by their reserved label
 * or identity ("world", "host", "remote-node", ...), else by their IP.
 * @param {FlowEndpoint | undefined} ep
 * @param {string | undefined} ip
 * @returns {WorkloadRef}
 */
export function workloadOf(ep, ip) {
  const namespace = ep?.namespace || labelValue(ep?.labels, NAMESPACE_LABEL) || "";
  if (namespace || ep?.pod_name) {
    const name = ep?.workloads?.[0]?.name || labelValue(ep?.labels, "app") || ep?.pod_name ||
      `identity-${ep?.identity ?? 0}`;
    return { key: `${namespace}/${name}`, namespace, name };
  }
  const reserved = (ep?.labels ?? []).find((l) => l.startsWith("reserved:"));
  let name = reserved?.slice("reserved:".length).replace(/-ipv[46]$/, "");
  name ||= RESERVED_BY_IDENTITY[ep?.identity ?? 0] ?? ip ?? "unknown";
  return { key: name, namespace: "", name };
}

/**
 * How an endpoint reads in the flow table: "ns/pod", else the workload key; the IP alone when
 * that says nothing more.
 * @param {FlowEndpoint | undefined} ep
 * @param {string | undefined} ip
 */
export function endpointLabel(ep, ip) {
  if (ep?.pod_name) return ep.namespace ? `${ep.namespace}/${ep.pod_name}` : ep.pod_name;
  const w = workloadOf(ep, ip);
  return w.key === ip || !ip ? w.key : `${w.key} (${ip})`;
}

/** Verdicts by how much they matter on the map: the highest seen on an edge wins. */
const VERDICT_RANK = /** @type {Record<string, number>} */ ({
  DROPPED: 6,
  ERROR: 5,
  AUDIT: 4,
  FORWARDED: 3,
  TRANSLATED: 2,
  REDIRECTED: 2,
  TRACED: 1,
});

/**
 * @param {string} a
 * @param {string} b
 * @returns {string} the verdict that matters more (dropped beats audit beats forwarded)
 */
export function worseVerdict(a, b) {
  return (VERDICT_RANK[b] ?? 0) > (VERDICT_RANK[a] ?? 0) ? b : a;
}

/**
 * The colour class of a verdict: "dropped" (red), "audit" (amber), "forwarded" (green) or
 * "other" (grey).
 * @param {string} verdict
 */
export function verdictClass(verdict) {
  switch (verdict) {
    case "DROPPED":
    case "ERROR":
      return "dropped";
    case "AUDIT":
      return "audit";
    case "FORWARDED":
    case "TRANSLATED":
    case "REDIRECTED":
      return "forwarded";
    default:
      return "other";
  }
}

/**
 * Destination port and protocol ("80/TCP", "53/UDP", "ICMPv4 8/0"), "" without L4; with
 * `field` "source_port", the sender's port (a reply's server).
 * @param {Flow} flow
 * @param {"destination_port" | "source_port"} [field]
 */
export function portProto(flow, field = "destination_port") {
  const l4 = /** @type {Record<string, Record<string, number> | undefined>} */ (flow.l4 ?? {});
  for (const proto of ["TCP", "UDP", "SCTP"]) {
    const p = l4[proto];
    if (p) return `${p[field]}/${proto}`;
  }
  for (const proto of ["ICMPv4", "ICMPv6"]) {
    const p = l4[proto];
    if (p) return `${proto} ${p.type}/${p.code}`;
  }
  return "";
}

/**
 * Sort key of a flow's RFC 3339 time in milliseconds, keeping the digits below a millisecond
 * that Date.parse drops (0.5 µs resolution at today's epoch is plenty to order events).
 * @param {string} time
 */
export function timeKey(time) {
  const ms = Date.parse(time);
  if (Number.isNaN(ms)) return 0;
  const frac = /\.\d{3}(\d+)/.exec(time)?.[1] ?? "";
  return ms + (frac ? Number(`0.${frac}`) : 0);
}

/**
 * The flows the page holds: newest first, without duplicates (the follow stream and the
 * initial `last=N` query overlap), at most `capacity` (the oldest go first).
 */
export class FlowList {
  /** @type {{ flow: Flow, id: string, key: number }[]} oldest first */
  #entries = [];
  /** @type {Set<string>} */
  #ids = new Set();

  /** @param {number} capacity */
  constructor(capacity) {
    this.capacity = capacity;
    /** Events the agent reported lost (`lost_events`) since the last clear(). */
    this.lost = 0;
  }

  get size() {
    return this.#entries.length;
  }

  /**
   * @param {Flow} flow
   * @returns {boolean} false when the flow is already held
   */
  add(flow) {
    const id = flow.uuid ||
      `${flow.time}|${flow.IP?.source}|${flow.IP?.destination}|${flow.Summary}|${flow.verdict}`;
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    const entry = { flow, id, key: timeKey(flow.time) };
    // Flows mostly arrive in time order: walk back from the end to the insertion point.
    let i = this.#entries.length;
    while (i > 0 && (this.#entries[i - 1]?.key ?? 0) > entry.key) i--;
    this.#entries.splice(i, 0, entry);
    while (this.#entries.length > this.capacity) {
      const old = this.#entries.shift();
      if (old) this.#ids.delete(old.id);
    }
    return true;
  }

  clear() {
    this.#entries = [];
    this.#ids.clear();
    this.lost = 0;
  }

  /** Newest first. */
  newest(limit = Infinity) {
    /** @type {Flow[]} */
    const out = [];
    for (let i = this.#entries.length - 1; i >= 0 && out.length < limit; i--) {
      const e = this.#entries[i];
      if (e) out.push(e.flow);
    }
    return out;
  }
}

/**
 * The service map of a set of flows. Replies are counted on the edge of the request (client to
 * server), so a connection is one edge, not two.
 * @param {readonly Flow[]} flows
 * @returns {Graph}
 */
export function buildGraph(flows) {
  /** @type {Map<string, GraphNode>} */
  const nodes = new Map();
  /** @type {Map<string, GraphEdge>} */
  const edges = new Map();
  /** @param {WorkloadRef} w @param {string} verdict */
  const node = (w, verdict) => {
    let n = nodes.get(w.key);
    if (!n) {
      n = { ...w, ports: [], verdict, flows: 0 };
      nodes.set(w.key, n);
    }
    n.verdict = worseVerdict(n.verdict, verdict);
    n.flows++;
    return n;
  };
  for (const f of flows) {
    let src = workloadOf(f.source, f.IP?.source);
    let dst = workloadOf(f.destination, f.IP?.destination);
    const port = portProto(f, f.is_reply ? "source_port" : "destination_port");
    if (f.is_reply) [src, dst] = [dst, src];
    node(src, f.verdict);
    const to = node(dst, f.verdict);
    if (port && !to.ports.includes(port)) to.ports.push(port);
    const key = `${src.key}->${dst.key}`;
    let e = edges.get(key);
    if (!e) {
      e = {
        key,
        from: src.key,
        to: dst.key,
        count: 0,
        verdict: f.verdict,
        verdicts: {},
        dropReasons: {},
        ports: [],
      };
      edges.set(key, e);
    }
    e.count++;
    e.verdict = worseVerdict(e.verdict, f.verdict);
    e.verdicts[f.verdict] = (e.verdicts[f.verdict] ?? 0) + 1;
    if (f.verdict === "DROPPED") {
      const reason = f.drop_reason_desc || "unknown reason";
      e.dropReasons[reason] = (e.dropReasons[reason] ?? 0) + 1;
    }
    if (port && !e.ports.includes(port)) e.ports.push(port);
  }
  /** @type {Map<string, GraphNode[]>} */
  const byNamespace = new Map();
  for (const n of nodes.values()) {
    n.ports.sort(comparePorts);
    byNamespace.set(n.namespace, [...(byNamespace.get(n.namespace) ?? []), n]);
  }
  for (const e of edges.values()) e.ports.sort(comparePorts);
  // Namespaces alphabetically, what is outside namespaces ("") last; nodes by name.
  const groups = [...byNamespace.entries()]
    .sort(([a], [b]) => (a === "" ? 1 : b === "" ? -1 : a.localeCompare(b)))
    .map(([namespace, ns]) => ({
      namespace,
      nodes: ns.sort((a, b) => a.name.localeCompare(b.name)),
    }));
  return { groups, edges: [...edges.values()].sort((a, b) => a.key.localeCompare(b.key)) };
}

/** @param {string} a @param {string} b */
function comparePorts(a, b) {
  return (parseInt(a) || 0) - (parseInt(b) || 0) || a.localeCompare(b);
}

/** Query parameters of the flow API that the page sets itself; not filters. */
const PAGE_KEYS = ["last", "first", "follow", "cluster"];

/**
 * The filter bar as the API's query parameters. `filters` is free text of `key=value` tokens
 * (Hubble's flag names, an optional leading `--`); repeated keys OR, as the API defines.
 * @param {{ namespace?: string, pod?: string, verdict?: string, filters?: string }} form
 * @returns {{ params: [string, string][] } | { error: string }}
 */
export function filterParams(form) {
  /** @type {[string, string][]} */
  const params = [];
  if (form.namespace?.trim()) params.push(["namespace", form.namespace.trim()]);
  if (form.pod?.trim()) params.push(["pod", form.pod.trim()]);
  if (form.verdict?.trim()) params.push(["verdict", form.verdict.trim()]);
  for (const token of (form.filters ?? "").split(/\s+/).filter(Boolean)) {
    const m = /^(?:--)?([a-z][a-z0-9-]*)=(.+)$/.exec(token);
    if (!m?.[1] || !m[2]) {
      return { error: `Filter "${token}" is not key=value (e.g. verdict=DROPPED)` };
    }
    if (PAGE_KEYS.includes(m[1])) {
      return { error: `"${m[1]}" is set by the page (the last flows, then new ones as they come)` };
    }
    params.push([m[1], m[2]]);
  }
  return { params };
}

/** Filter keys with their own input; every other query parameter goes to the free text. */
const FORM_KEYS = /** @type {const} */ (["namespace", "pod", "verdict"]);

/**
 * The filter bar's fields from a query string (the page's own URL, so a filtered view is a link).
 * @param {URLSearchParams} search
 */
export function formFromSearch(search) {
  /** @type {Record<string, string>} */
  const form = { namespace: "", pod: "", verdict: "", filters: "" };
  /** @type {string[]} */
  const rest = [];
  for (const [k, v] of search) {
    if (/** @type {readonly string[]} */ (FORM_KEYS).includes(k) && !form[k]) form[k] = v;
    else rest.push(`${k}=${v}`);
  }
  form.filters = rest.join(" ");
  return form;
}
