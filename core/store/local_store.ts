// The local store: a manifest directory (Node, Namespace, Pod and policy manifests) and this
// agent's own state. For a single node, or bare-metal nodes that list each other as Node
// manifests (spec.podCIDR, status.addresses InternalIP). Identities are node-local. Policies
// applied through the API are kept in the state directory. The manifest directory is watched;
// a bad edit is reported and the previous manifests stay in force. Services and EndpointSlices
// (from the directory and the API) are resolved by local_services.ts.
import { type Cidr, nthNodeCidr, parseCidr, tryParseCidr } from "../ipam/mod.ts";
import { LocalIdentityAllocator } from "../identity/local_allocator.ts";
import { parseManifest } from "../policy/parse/mod.ts";
import type { Logger } from "../plugin/plugin.ts";
import {
  type EndpointRecord,
  type NamespaceMeta,
  type NodeInfo,
  type PodMeta,
  policyKey,
  type RecordKind,
  rejectedKey,
  type State,
  type Table,
} from "../state/mod.ts";
import { join } from "node:path";
import { DEFAULT_SERVICE_OPTIONS, type ServiceOptions } from "../service/options.ts";
import { LocalServices } from "./local_services.ts";
import {
  anyObject,
  damagedStateFiles,
  readStateFile,
  setAside,
  writeStateFile,
} from "../state_files/mod.ts";
import { type Manifest, ManifestError, readManifestDir } from "./manifests.ts";
import { readNamespaceManifest, readNodeManifest, readPodManifest } from "./manifest_records.ts";
import { nodeContext, type PodPools } from "./records/checks.ts";
import { issuesText, Rejections } from "./records/rejections.ts";
import type { Read } from "./records/shapes.ts";
import type {
  ClusterStore,
  NodeRegistration,
  PodCidrRequest,
  PodLabels,
  StoreStatus,
} from "./store.ts";

export interface LocalStoreOptions {
  state: State;
  stateDir: string;
  /** "" = no manifest directory. */
  manifests: string;
  node: string;
  cluster: string;
  log: Logger;
  /** Ranges services are checked against; default: the config schema's defaults. */
  services?: ServiceOptions;
  /** This node's pod pools (Node manifests' pod CIDRs must be inside); default: the schema's. */
  pools?: PodPools;
}

export class LocalStore implements ClusterStore {
  readonly kind = "local" as const;
  readonly synced: Promise<void>;
  readonly #opts: LocalStoreOptions;
  readonly #syncedResolve: () => void;
  #manifests: Manifest[] = [];
  #identities: LocalIdentityAllocator | undefined;
  #watcher: Deno.FsWatcher | undefined;
  #reloadTimer: ReturnType<typeof setTimeout> | undefined;
  #lastError: string | undefined;
  #isSynced = false;
  #revision = 0;
  /** Policies applied through the API, by policy key (persisted). */
  #applied = new Map<string, unknown>();
  readonly #services: LocalServices;
  readonly #rejections: Rejections;

  constructor(opts: LocalStoreOptions) {
    this.#opts = opts;
    this.#rejections = new Rejections(opts.state.rejected, opts.log);
    this.#services = new LocalServices({
      state: opts.state,
      options: opts.services ?? DEFAULT_SERVICE_OPTIONS,
      stateDir: opts.stateDir,
      log: opts.log,
    });
    const { promise, resolve } = Promise.withResolvers<void>();
    this.synced = promise;
    this.#syncedResolve = resolve;
  }

  async register(node: NodeRegistration, cidrs: PodCidrRequest[]): Promise<string[]> {
    await this.#load();
    const nodes = this.#manifests.filter((m) => m.kind === "Node");
    const mine = nodes.find((m) => m.metadata.name === node.name);
    // This node's own manifest is read without the checks against this node (it is this node).
    const own = mine && readNodeManifest(mine, nodeContext(this.#pools, undefined, ""));
    if (own && !own.ok) {
      throw new ManifestError(
        `${mine!.source}: the Node manifest of this node (${node.name}) is invalid: ${
          issuesText(own)
        }`,
      );
    }
    const others: Cidr[] = nodes.filter((m) => m.metadata.name !== node.name)
      .flatMap((m) => {
        const spec = m.spec ?? {};
        const list = Array.isArray(spec.podCIDRs) ? spec.podCIDRs : [spec.podCIDR];
        return list.flatMap((c) => (typeof c === "string" ? tryParseCidr(c) ?? [] : []));
      });
    const claimed: string[] = [];
    for (const req of cidrs) {
      const fromManifest = own?.ok
        ? own.value.podCIDRs.find((c) => parseCidr(c).family === req.family)
        : undefined;
      let cidr = req.fixed || fromManifest;
      if (!cidr) {
        // the first node CIDR of the pool that no Node manifest uses
        const pool = parseCidr(req.pool);
        for (let i = 0;; i++) {
          const candidate = nthNodeCidr(pool, req.maskSize, i);
          if (!others.some((o) => o.overlaps(candidate))) {
            cidr = candidate.toString();
            break;
          }
        }
      }
      claimed.push(cidr);
    }
    this.#opts.state.nodes.upsert(node.name, {
      name: node.name,
      cluster: node.cluster,
      addresses: node.addresses,
      podCIDRs: claimed,
      source: "self",
    });
    return claimed;
  }

  get #pools(): PodPools {
    return this.#opts.pools ?? { v4: "10.244.0.0/16", v6: "" };
  }

  get #appliedFile(): string {
    return join(this.#opts.stateDir, "policies.json");
  }

  async start(): Promise<void> {
    this.#identities = await LocalIdentityAllocator.open(this.#opts.stateDir);
    for (const [id, labels] of this.#identities.all()) {
      this.#opts.state.identities.upsert(String(id), { id, labels });
    }
    const applied = await readStateFile(this.#appliedFile, anyObject);
    if (applied.kind === "ok") this.#applied = new Map(Object.entries(applied.value));
    if (applied.kind === "damaged") {
      const aside = await setAside(this.#appliedFile);
      damagedStateFiles.report(
        this.#appliedFile,
        applied.problem,
        `policies applied through the API are not restored: apply them again (the damaged file is kept as ${aside})`,
      );
    }
    await this.#services.load();
    await this.#load().catch(() => {});
    this.#apply();
    this.#isSynced = true;
    this.#syncedResolve();
    if (this.#opts.manifests) {
      try {
        this.#watcher = Deno.watchFs(this.#opts.manifests);
        (async () => {
          for await (const _ of this.#watcher!) this.#scheduleReload();
        })().catch(() => {});
      } catch (err) {
        this.#opts.log.warn("cannot watch manifest directory", { error: String(err) });
      }
    }
  }

  #scheduleReload(): void {
    clearTimeout(this.#reloadTimer);
    this.#reloadTimer = setTimeout(() => {
      this.#load().then(() => this.#apply(), () => {}).catch((err) =>
        this.#opts.log.error("applying the manifest directory failed", { error: String(err) })
      );
    }, 200);
  }

  async #load(): Promise<void> {
    if (!this.#opts.manifests) return;
    try {
      this.#manifests = await readManifestDir(this.#opts.manifests);
      this.#services.setDirectory(
        this.#manifests.filter((m) => m.kind === "Service" || m.kind === "EndpointSlice")
          .map((m) => ({ manifest: m.document, source: m.source })),
      );
      this.#lastError = undefined;
    } catch (err) {
      this.#lastError = (err as Error).message;
      this.#opts.log.error("manifests rejected; the previous ones stay in force", {
        error: this.#lastError,
      });
      throw err;
    }
  }

  /** Manifests into the tables: other nodes, pods, namespaces, policies, services. */
  #apply(): void {
    const { state, node, cluster } = this.#opts;
    this.#revision++;
    const sync = <T>(table: Table<T>, rows: Map<string, T>) => {
      for (const [k, v] of rows) table.upsertChanged(k, v);
      for (const [k] of table.entries()) if (!rows.has(k)) table.delete(k);
    };
    this.#syncRecords("Pod", state.pods, this.#manifests.filter((m) => m.kind === "Pod"), (m) => ({
      key: `${m.metadata.namespace ?? "default"}/${m.metadata.name}`,
      read: readPodManifest(m),
    }));
    this.#syncRecords(
      "Namespace",
      state.namespaces,
      this.#manifests.filter((m) => m.kind === "Namespace"),
      (m) => ({ key: m.metadata.name, read: readNamespaceManifest(m) }),
    );
    // A policy keeps its revision while its manifest stays the same.
    const policies = new Map<string, { key: string; manifest: unknown; revision: number }>();
    const addPolicy = (key: string, manifest: unknown) => {
      const cur = state.policies.get(key);
      const same = JSON.stringify(cur?.manifest) === JSON.stringify(manifest);
      policies.set(key, { key, manifest, revision: same ? cur!.revision : this.#revision });
    };
    // A directory policy that does not parse is reported; its last accepted version stays.
    const reported = new Set<string>();
    for (const m of this.#manifests.filter((m) => POLICY_KINDS.includes(m.kind))) {
      const { source, document: _document, ...manifest } = m;
      const key = policyKey({
        kind: m.kind,
        ...(m.metadata.namespace ? { namespace: m.metadata.namespace } : {}),
        name: m.metadata.name,
      });
      const report = { kind: "Policy" as const, namespace: "", name: key };
      const { issues } = parseManifest(manifest);
      if (issues.length === 0) {
        addPolicy(key, manifest);
        this.#rejections.clear(rejectedKey(report));
        continue;
      }
      const cur = state.policies.get(key);
      if (cur) policies.set(key, cur);
      reported.add(rejectedKey(report));
      this.#rejections.reject({ ...report, source, issues, ...(cur ? { keeping: true } : {}) });
    }
    this.#rejections.retain(["Policy"], (k) => reported.has(k));
    for (const [key, manifest] of this.#applied) addPolicy(key, manifest);
    sync(state.policies, policies);
    this.#services.apply(this.#revision);
    const ctx = nodeContext(this.#pools, state.nodes.get(node), node);
    const earlier: Array<{ node: string; cidr: Cidr }> = [];
    this.#syncRecords(
      "Node",
      state.nodes,
      this.#manifests.filter((m) => m.kind === "Node" && m.metadata.name !== node),
      (m) => {
        const r = readNodeManifest(m, ctx, earlier);
        if (!r.ok) return { key: m.metadata.name, read: r };
        const { name, addresses, podCIDRs } = r.value;
        earlier.push(...podCIDRs.map((c) => ({ node: name, cidr: parseCidr(c) })));
        const row: NodeInfo = { name, cluster, addresses, podCIDRs, source: "manifest" };
        return { key: name, read: { ok: true, value: row } };
      },
      (row) => row.source === "manifest",
    );
  }

  /**
   * The manifests of one kind into its table: accepted ones become rows, rejected ones are
   * reported and keep their last accepted row (a bad edit changes nothing that worked), rows of
   * manifests that are gone are removed.
   */
  #syncRecords<T extends PodMeta | NamespaceMeta | NodeInfo>(
    kind: RecordKind,
    table: Table<T>,
    manifests: Manifest[],
    read: (m: Manifest) => { key: string; read: Read<T> },
    owns: (row: T) => boolean = () => true,
  ): void {
    const seen = new Set<string>();
    const reported = new Set<string>();
    for (const m of manifests) {
      const { key, read: r } = read(m);
      seen.add(key);
      const [namespace, name] = kind === "Pod" ? key.split("/", 2) : ["", key];
      const report = { kind, namespace: namespace ?? "", name: name ?? key };
      if (r.ok) {
        table.upsertChanged(key, r.value);
        this.#rejections.clear(rejectedKey(report));
        continue;
      }
      reported.add(rejectedKey(report));
      const current = table.get(key);
      this.#rejections.reject({
        ...report,
        source: m.source,
        issues: r.issues,
        ...(current !== undefined && owns(current) ? { keeping: true } : {}),
      });
    }
    for (const [k, row] of table.entries()) if (!seen.has(k) && owns(row)) table.delete(k);
    this.#rejections.retain([kind], (k) => reported.has(k));
  }

  useIdentities(_ids: ReadonlySet<number>): void {
    // Node-local identities are kept: the state directory is small and numbers stay stable.
  }

  publishEndpoint(_ep: EndpointRecord): void {
    // Local endpoints are in the state table already; there is nobody to tell.
  }

  withdrawEndpoint(_ep: Pick<EndpointRecord, "node" | "id">): void {}

  async identityFor(labels: Record<string, string>): Promise<number> {
    if (!this.#identities) {
      this.#identities = await LocalIdentityAllocator.open(this.#opts.stateDir);
    }
    const id = await this.#identities.identityFor(labels);
    if (!this.#opts.state.identities.get(String(id))) {
      this.#opts.state.identities.upsert(String(id), { id, labels });
    }
    return id;
  }

  get policyRevision(): number {
    return this.#revision;
  }

  async putPolicy(key: string, manifest: unknown): Promise<number> {
    this.#applied.set(key, manifest);
    await this.#saveApplied();
    this.#apply();
    return this.#revision;
  }

  async deletePolicy(key: string): Promise<number | undefined> {
    if (!this.#applied.delete(key)) return undefined;
    await this.#saveApplied();
    this.#apply();
    return this.#revision;
  }

  async #saveApplied(): Promise<void> {
    await writeStateFile(this.#appliedFile, JSON.stringify(Object.fromEntries(this.#applied)));
  }

  async putService(key: string, manifest: unknown): Promise<number> {
    await this.#services.put("services", key, manifest, () => this.#apply());
    return this.#revision;
  }

  async deleteService(key: string): Promise<number | undefined> {
    return await this.#services.delete("services", key, () => this.#apply())
      ? this.#revision
      : undefined;
  }

  storedService(key: string): Promise<unknown | undefined> {
    return Promise.resolve(this.#services.stored(key));
  }

  async putEndpointSlice(key: string, manifest: unknown): Promise<number> {
    await this.#services.put("endpointSlices", key, manifest, () => this.#apply());
    return this.#revision;
  }

  async deleteEndpointSlice(key: string): Promise<number | undefined> {
    return await this.#services.delete("endpointSlices", key, () => this.#apply())
      ? this.#revision
      : undefined;
  }

  /** What the manifests say about a pod: only what passes the checks of the pods table. */
  podLabels(namespace: string, name: string): Promise<PodLabels | undefined> {
    const manifest = this.#manifests.find((m) =>
      m.kind === "Pod" && m.metadata.name === name &&
      (m.metadata.namespace ?? "default") === namespace
    );
    const pod = manifest && readPodManifest(manifest);
    if (!pod?.ok) return Promise.resolve(undefined);
    const nsManifest = this.#manifests.find((m) =>
      m.kind === "Namespace" && m.metadata.name === namespace
    );
    const ns = nsManifest && readNamespaceManifest(nsManifest);
    return Promise.resolve({
      labels: pod.value.labels,
      namespaceLabels: ns?.ok ? ns.value.labels : { "kubernetes.io/metadata.name": namespace },
      namedPorts: pod.value.namedPorts,
      ...(pod.value.serviceAccount ? { serviceAccount: pod.value.serviceAccount } : {}),
    });
  }

  status(): StoreStatus {
    return {
      kind: "local",
      connected: true,
      synced: this.#isSynced,
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
      detail: { manifests: this.#opts.manifests || null, objects: this.#manifests.length },
    };
  }

  stop(): Promise<void> {
    clearTimeout(this.#reloadTimer);
    this.#watcher?.close();
    this.#watcher = undefined;
    return Promise.resolve();
  }
}

const POLICY_KINDS = [
  "NetworkPolicy",
  "CiliumNetworkPolicy",
  "CiliumClusterwideNetworkPolicy",
  "CiliumCIDRGroup",
];
