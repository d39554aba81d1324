// Policy on this node: the policies in the cluster store, parsed, computed for every local
// endpoint (core/policy) and written into the policy map make-before-break (a new generation,
// then the endpoint entry flips, then the old generation goes). Recomputation follows the
// policies, identities and endpoints tables; endpoints whose result did not change are not
// touched, so a restart or an unrelated change writes nothing.
import { join } from "node:path";
import type { HyphaConfig } from "../config/schema.ts";
import type { ClusterMaps } from "../datapath/cluster_maps.ts";
import { PolicyMap } from "../datapath/policy_map.ts";
import type { EndpointManager, EndpointPolicyHook } from "../endpoint/manager.ts";
import type { LocalEndpoint } from "../endpoint/persist.ts";
import { identityLabels } from "../identity/labels.ts";
import type { RuleInfo } from "../flows/decode.ts";
import type { NodeNetwork } from "../network/node_network.ts";
import type { Logger } from "../plugin/plugin.ts";
import {
  affectedBy,
  computeEndpointPolicy,
  type EndpointPolicy,
  type NamedPorts,
  type PolicyEntry,
  type PolicyInputs,
} from "../policy/compute.ts";
import {
  FIRST_LOCAL_IDENTITY,
  type IdentityView,
  policyCidrs,
  reservedIdentities,
} from "../policy/identities.ts";
import type { CidrGroup, Policy, PolicyIssue, RuleRef } from "../policy/model.ts";
import { parseManifest } from "../policy/parse/mod.ts";
import type { State } from "../state/mod.ts";
import type { ClusterStore } from "../store/store.ts";
import { ipcacheKeyCidr } from "../datapath/addr.ts";
import { damagedStateFiles, readStateFile, recordOf, writeStateFile } from "../state_files/mod.ts";

const isLocalIdentity = (v: unknown): v is number =>
  Number.isInteger(v) && (v as number) >= FIRST_LOCAL_IDENTITY && (v as number) <= 0xffffffff;

/** ENDPOINT_F_* in bpf/lib/endpoint.h */
const FLAGS = { enforceIngress: 0x2, enforceEgress: 0x4, auditIngress: 0x8, auditEgress: 0x10 };

export interface PolicyEnforcerOptions {
  config: HyphaConfig;
  state: State;
  store: ClusterStore;
  maps: ClusterMaps;
  endpoints: EndpointManager;
  network: NodeNetwork;
  stateDir: string;
  log: Logger;
  /** Called for every endpoint regeneration (its policy computed and written): a new endpoint
   * ("created") or a policy, identity or endpoint change ("policy"). */
  onRegeneration?: (r: Regeneration) => void;
}

export interface Regeneration {
  trigger: "created" | "policy";
  seconds: number;
  /** Whether the kernel's policy of the endpoint changed. */
  changed: boolean;
}

export interface PolicyStatus {
  enforcement: string;
  audit: boolean;
  /** Store revision of the policies the last computation used. */
  revision: number;
  /** Computations so far (a settled node stops counting). */
  computations: number;
  pending: boolean;
  lastMs: number;
  policies: Array<{ key: string; rules: number; issues: PolicyIssue[] }>;
}

interface Parsed {
  revision: number;
  policies: Policy[];
  groups: CidrGroup[];
  issues: PolicyIssue[];
}

export function policyFlags(p: EndpointPolicy): number {
  return (p.ingress.enforced ? FLAGS.enforceIngress : 0) |
    (p.egress.enforced ? FLAGS.enforceEgress : 0) |
    (p.ingress.audit ? FLAGS.auditIngress : 0) | (p.egress.audit ? FLAGS.auditEgress : 0);
}

export class PolicyEnforcer implements EndpointPolicyHook {
  readonly #o: PolicyEnforcerOptions;
  readonly #parsed = new Map<string, Parsed>();
  readonly #ruleIds = new Map<string, number>();
  /** Rule id (as the datapath reports it in policy verdicts) -> the rule's policy. */
  readonly #rules = new Map<number, RuleInfo>();
  readonly #computed = new Map<number, EndpointPolicy>();
  #cidrIds = new Map<string, number>();
  #cidrSaved: Promise<void> = Promise.resolve();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> = Promise.resolve();
  #pending = false;
  #computations = 0;
  #revision = 0;
  #lastMs = 0;
  #unsubscribe: Array<() => void> = [];
  #firstRun: PromiseWithResolvers<void> = Promise.withResolvers();
  /** What changed since the last computation: some identities only, or anything ("all"). */
  #changed: Set<number> | "all" = "all";

  constructor(o: PolicyEnforcerOptions) {
    this.#o = o;
  }

  /** Resolves after the first computation that saw the synced cluster store. */
  get firstRun(): Promise<void> {
    return this.#firstRun.promise;
  }

  async start(): Promise<void> {
    await this.#loadCidrIds();
    const { state } = this.#o;
    const identity = (id: number) => {
      if (this.#changed !== "all") this.#changed.add(id);
      this.schedule();
    };
    this.#unsubscribe.push(
      state.policies.subscribe(() => this.scheduleAll()),
      state.identities.subscribe((c) => identity(c.kind === "delete" ? c.previous.id : c.value.id)),
      state.endpoints.subscribe((c) => {
        const ep = c.kind === "delete" ? c.previous : c.value;
        // local endpoints (added, relabeled) are recomputed whole; remote ones count by identity
        if (ep.node === this.#o.config.node.name) this.scheduleAll();
        else {
          identity(ep.identity);
          if (c.kind === "upsert" && c.previous) identity(c.previous.identity);
        }
      }),
    );
    this.#o.store.synced.then(() => this.scheduleAll());
  }

  stop(): void {
    for (const u of this.#unsubscribe) u();
    this.#unsubscribe = [];
    clearTimeout(this.#timer);
  }

  scheduleAll(): void {
    this.#changed = "all";
    this.schedule();
  }

  schedule(): void {
    this.#pending = true;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#running = this.#running.then(() => this.#recompute()).catch((err) =>
        this.#o.log.error("policy computation failed", { error: String(err) })
      );
    }, 10);
  }

  // --- inputs ---

  #parsedPolicies(): Parsed[] {
    const seen = new Set<string>();
    for (const rec of this.#o.state.policies.list()) {
      seen.add(rec.key);
      const cur = this.#parsed.get(rec.key);
      if (cur && cur.revision === rec.revision) continue;
      const r = parseManifest(rec.manifest, { path: rec.key });
      if (r.issues.length) {
        this.#o.log.warn("ignoring a stored policy that does not parse", {
          policy: rec.key,
          issue: `${r.issues[0]!.path}: ${r.issues[0]!.message}`,
        });
      }
      this.#parsed.set(rec.key, { revision: rec.revision, ...r, groups: r.cidrGroups });
    }
    for (const k of [...this.#parsed.keys()]) if (!seen.has(k)) this.#parsed.delete(k);
    return [...this.#parsed.values()];
  }

  #inputs(): PolicyInputs {
    const parsed = this.#parsedPolicies();
    const policies = parsed.flatMap((p) => p.issues.length ? [] : p.policies);
    const groups = new Map(parsed.flatMap((p) => p.groups).map((g) => [g.name, g.cidrs]));
    const cidrs = policyCidrs(policies.flatMap((p) => p.rules.flatMap((r) => r.peers)), groups);
    this.#assignCidrIds(cidrs);
    const identities: IdentityView[] = [
      ...reservedIdentities(),
      ...this.#o.state.identities.list().map((i) => ({ id: i.id, labels: i.labels })),
      ...[...this.#cidrIds].filter(([c]) => cidrs.has(c)).map(([cidr, id]) => ({
        id,
        labels: { [`cidr:${cidr}`]: "", "reserved:world": "" },
        cidr,
      })),
    ];
    const ports = new Map<number, NamedPorts[]>();
    for (const ep of this.#o.state.endpoints.list()) {
      if (!ep.namedPorts) continue;
      const list = ports.get(ep.identity) ?? [];
      list.push(ep.namedPorts);
      ports.set(ep.identity, list);
    }
    const { policy } = this.#o.config;
    return {
      policies,
      identities,
      cidrGroups: groups,
      namedPorts: (id) => ports.get(id) ?? [],
      enforcement: policy.enforcement,
      audit: policy.audit,
      peerCache: new WeakMap(),
    };
  }

  #subjectOf(ep: LocalEndpoint) {
    const known = this.#o.state.identities.get(String(ep.identity))?.labels;
    const ns = this.#o.state.namespaces.get(ep.namespace)?.labels;
    return {
      identity: ep.identity,
      labels: known ?? identityLabels({
        namespace: ep.namespace || "default",
        labels: ep.labels,
        namespaceLabels: { "kubernetes.io/metadata.name": ep.namespace || "default", ...ns },
        cluster: this.#o.config.node.cluster,
        ...(ep.serviceAccount ? { serviceAccount: ep.serviceAccount } : {}),
      }, this.#o.config.policy.identityExcludeLabels),
      namedPorts: ep.namedPorts ?? {},
    };
  }

  #ruleId = (e: PolicyEntry): number => {
    const key = ruleText(e.rule);
    let id = this.#ruleIds.get(key);
    if (id === undefined) {
      this.#ruleIds.set(key, id = this.#ruleIds.size + 1);
      const { kind, namespace, name } = e.rule;
      this.#rules.set(id, {
        policy: { kind, name, ...(namespace ? { namespace } : {}) },
        matchType: policyMatchType(e),
      });
    }
    return id;
  };

  /** The rule behind a rule id of the policy map (flow events report it). */
  rule(id: number): RuleInfo | undefined {
    return this.#rules.get(id);
  }

  /** The CIDR a node-local CIDR identity stands for. */
  identityCidr(id: number): string | undefined {
    for (const [cidr, n] of this.#cidrIds) if (n === id) return cidr;
    return undefined;
  }

  // --- CIDR identities (node-local, stable across restarts) ---

  get #cidrFile(): string {
    return join(this.#o.stateDir, "cidr_identities.json");
  }

  /**
   * The CIDR identities of the previous run. A damaged file is rebuilt from the ipcache, which
   * holds every CIDR identity the datapath enforces with (rows in the node-local range).
   */
  async #loadCidrIds(): Promise<void> {
    const file = this.#cidrFile;
    const r = await readStateFile(file, recordOf("a CIDR identity", isLocalIdentity));
    if (r.kind === "ok") this.#cidrIds = new Map(Object.entries(r.value));
    if (r.kind !== "damaged") return;
    this.#cidrIds = new Map();
    for (const [key, value] of this.#o.maps.ipcache.kernelEntries()) {
      if (isLocalIdentity(value.identity)) {
        this.#cidrIds.set(ipcacheKeyCidr(key).toString(), value.identity);
      }
    }
    await this.#saveCidrIds().catch((err) =>
      this.#o.log.warn("cannot save CIDR identities", { error: String(err) })
    );
    damagedStateFiles.report(
      file,
      r.problem,
      `rebuilt from the ipcache: ${this.#cidrIds.size} CIDR identities`,
    );
  }

  #saveCidrIds(): Promise<void> {
    this.#cidrSaved = writeStateFile(
      this.#cidrFile,
      JSON.stringify(Object.fromEntries(this.#cidrIds)),
    );
    return this.#cidrSaved;
  }

  #assignCidrIds(cidrs: Set<string>): void {
    let added = false;
    let next = Math.max(FIRST_LOCAL_IDENTITY, ...[...this.#cidrIds.values()].map((i) => i + 1));
    for (const c of cidrs) {
      if (this.#cidrIds.has(c)) continue;
      this.#cidrIds.set(c, next++);
      added = true;
    }
    // Written in the background, in order; a computation waits for it before it writes maps.
    if (added) this.#saveCidrIds().catch(() => {});
    this.#o.network.setCidrIdentities(
      new Map([...this.#cidrIds].filter(([c]) => cidrs.has(c))),
    );
  }

  // --- writing ---

  /** EndpointPolicyHook: a new endpoint gets its policy in generation 0 before it exists. */
  prepare(ep: LocalEndpoint): { flags: number; generation: number } {
    const started = performance.now();
    const policy = computeEndpointPolicy(this.#subjectOf(ep), this.#inputs());
    const snapshot = this.#o.maps.policy.snapshot();
    const pm = this.#o.maps.policy;
    pm.clear(snapshot.get(`${ep.id}/1`)); // leftovers of an endpoint that had this id
    pm.replace(snapshot.get(`${ep.id}/0`), pm.rows(ep.id, 0, policy, this.#ruleId));
    this.#computed.set(ep.id, policy);
    this.#o.onRegeneration?.({
      trigger: "created",
      seconds: (performance.now() - started) / 1000,
      changed: true,
    });
    return { flags: policyFlags(policy), generation: 0 };
  }

  removed(ep: LocalEndpoint): void {
    const snapshot = this.#o.maps.policy.snapshot();
    this.#o.maps.policy.clear(snapshot.get(`${ep.id}/0`));
    this.#o.maps.policy.clear(snapshot.get(`${ep.id}/1`));
    this.#computed.delete(ep.id);
  }

  async #recompute(): Promise<void> {
    // Until the cluster store has synced, the policies and identities it will deliver are
    // unknown: computing now would replace what the kernel enforces with less. Wait for it.
    if (!this.#o.store.status().synced) return;
    this.#pending = false;
    const dirty = this.#changed;
    this.#changed = new Set();
    const started = performance.now();
    const revision = this.#o.store.policyRevision;
    const inputs = this.#inputs();
    // New CIDR identities are on disk before the maps use them (a failed write is reported;
    // enforcement goes on, and the next assignment writes the file again).
    const saving = this.#cidrSaved;
    await saving.catch((err) => {
      this.#o.log.warn("cannot save CIDR identities", { error: String(err) });
      if (this.#cidrSaved === saving) this.#cidrSaved = Promise.resolve();
    });
    const pm = this.#o.maps.policy;
    const snapshot = pm.snapshot();
    let changed = 0;
    for (const ep of this.#o.endpoints.list()) {
      const subject = this.#subjectOf(ep);
      if (
        dirty !== "all" && this.#computed.has(ep.id) &&
        !affectedBy(subject, [...dirty], inputs)
      ) continue; // incremental: nothing this endpoint's rules name has changed
      const regenerated = performance.now();
      const done = (changed: boolean) =>
        this.#o.onRegeneration?.({
          trigger: "policy",
          seconds: (performance.now() - regenerated) / 1000,
          changed,
        });
      const policy = computeEndpointPolicy(subject, inputs);
      this.#computed.set(ep.id, policy);
      const state = this.#o.endpoints.policyState(ep.id);
      const flags = policyFlags(policy);
      const active = snapshot.get(`${ep.id}/${state.generation}`);
      const want = pm.rows(ep.id, state.generation, policy, this.#ruleId);
      if (flags === state.flags && PolicyMap.same(active, want)) {
        done(false);
        continue;
      }
      const next = state.generation ^ 1;
      pm.replace(snapshot.get(`${ep.id}/${next}`), pm.rows(ep.id, next, policy, this.#ruleId));
      this.#o.endpoints.setPolicyState(ep.id, { flags, generation: next });
      pm.clear(active);
      changed++;
      done(true);
    }
    // Rows of endpoint ids that no longer exist (removed while the agent was down).
    const ids = new Set(this.#o.endpoints.list().map((e) => String(e.id)));
    for (const [group, rows] of snapshot) {
      if (!ids.has(group.split("/")[0]!)) pm.clear(rows);
    }
    this.#computations++;
    this.#revision = revision;
    this.#lastMs = performance.now() - started;
    if (changed) {
      this.#o.log.info("policy updated", {
        endpoints: changed,
        revision,
        ms: Math.round(this.#lastMs),
      });
    }
    if (this.#o.store.status().synced) this.#firstRun.resolve();
    await Promise.resolve();
  }

  // --- views ---

  endpointPolicy(id: number): EndpointPolicy | undefined {
    return this.#computed.get(id);
  }

  inputs(): PolicyInputs {
    return this.#inputs();
  }

  status(): PolicyStatus {
    this.#parsedPolicies();
    return {
      enforcement: this.#o.config.policy.enforcement,
      audit: this.#o.config.policy.audit,
      revision: this.#revision,
      computations: this.#computations,
      pending: this.#pending,
      lastMs: Math.round(this.#lastMs * 10) / 10,
      policies: [...this.#parsed].map(([key, p]) => ({
        key,
        rules: p.policies.reduce((n, x) => n + x.rules.length, 0),
        issues: p.issues,
      })).sort((a, b) => a.key.localeCompare(b.key)),
    };
  }

  /** Waits for pending work (tests, shutdown). */
  async settle(): Promise<void> {
    await this.#running;
  }
}

/** Hubble's policy_match_type of an entry: what of the peer and the port it matched on. */
export function policyMatchType(e: PolicyEntry): number {
  const l3 = e.identity !== 0;
  if (e.protocol === 0) return l3 ? 1 : 4; // L3 only, or everything
  if (e.bits === 0) return l3 ? 5 : 6; // L3 and protocol, or the protocol only
  return l3 ? 2 : 3; // L3 and L4, or L4 only
}

/** `Kind/namespace/name[spec] section[index]` of a rule, for traces and rule ids. */
export function ruleText(r: RuleRef): string {
  return `${r.kind}/${r.namespace ?? ""}/${r.name}${
    r.spec ? `[${r.spec}]` : ""
  } ${r.section}[${r.index}]`;
}
