// The local store: a manifest directory (Node, Namespace and Pod manifests) and this agent's
// own state. For a single node, or bare-metal nodes that list each other as Node manifests
// (spec.podCIDR, status.addresses InternalIP). Identities are node-local. The directory is
// watched; a bad edit is reported and the previous manifests stay in force.
import { nthNodeCidr, parseCidr } from "../ipam/mod.ts";
import { LocalIdentityAllocator } from "../identity/local_allocator.ts";
import type { Logger } from "../plugin/plugin.ts";
import type { EndpointRecord, State } from "../state/mod.ts";
import { type Manifest, nodeOf, readManifestDir } from "./manifests.ts";
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

  constructor(opts: LocalStoreOptions) {
    this.#opts = opts;
    const { promise, resolve } = Promise.withResolvers<void>();
    this.synced = promise;
    this.#syncedResolve = resolve;
  }

  async register(node: NodeRegistration, cidrs: PodCidrRequest[]): Promise<string[]> {
    await this.#load();
    const mine = this.#manifests.find((m) => m.kind === "Node" && m.metadata.name === node.name);
    const others = this.#manifests.filter((m) => m.kind === "Node" && m.metadata.name !== node.name)
      .flatMap((m) => nodeOf(m).podCIDRs.map((c) => parseCidr(c)));
    const claimed: string[] = [];
    for (const req of cidrs) {
      const fromManifest = mine &&
        nodeOf(mine).podCIDRs.find((c) => parseCidr(c).address.family === req.family);
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

  async start(): Promise<void> {
    this.#identities = await LocalIdentityAllocator.open(this.#opts.stateDir);
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
      this.#load().then(() => this.#apply(), () => {});
    }, 200);
  }

  async #load(): Promise<void> {
    if (!this.#opts.manifests) return;
    try {
      this.#manifests = await readManifestDir(this.#opts.manifests);
      this.#lastError = undefined;
    } catch (err) {
      this.#lastError = (err as Error).message;
      this.#opts.log.error("manifests rejected; the previous ones stay in force", {
        error: this.#lastError,
      });
      throw err;
    }
  }

  /** Node manifests of other nodes into the nodes table. */
  #apply(): void {
    const { state, node, cluster } = this.#opts;
    const seen = new Set<string>();
    for (const m of this.#manifests) {
      if (m.kind !== "Node" || m.metadata.name === node) continue;
      seen.add(m.metadata.name);
      const { podCIDRs, addresses } = nodeOf(m);
      const row = {
        name: m.metadata.name,
        cluster,
        addresses,
        podCIDRs,
        source: "manifest" as const,
      };
      if (JSON.stringify(state.nodes.get(m.metadata.name)) !== JSON.stringify(row)) {
        state.nodes.upsert(m.metadata.name, row);
      }
    }
    for (const n of state.nodes.list()) {
      if (n.source === "manifest" && !seen.has(n.name)) state.nodes.delete(n.name);
    }
  }

  publishEndpoint(_ep: EndpointRecord): void {
    // Local endpoints are in the state table already; there is nobody to tell.
  }

  withdrawEndpoint(_ep: Pick<EndpointRecord, "node" | "id">): void {}

  async identityFor(labels: Record<string, string>): Promise<number> {
    if (!this.#identities) {
      this.#identities = await LocalIdentityAllocator.open(this.#opts.stateDir);
    }
    return await this.#identities.identityFor(labels);
  }

  podLabels(namespace: string, name: string): Promise<PodLabels | undefined> {
    const pod = this.#manifests.find((m) =>
      m.kind === "Pod" && m.metadata.name === name &&
      (m.metadata.namespace ?? "default") === namespace
    );
    if (!pod) return Promise.resolve(undefined);
    const ns = this.#manifests.find((m) => m.kind === "Namespace" && m.metadata.name === namespace);
    const sa = pod.spec?.serviceAccountName;
    return Promise.resolve({
      labels: pod.metadata.labels ?? {},
      namespaceLabels: ns?.metadata.labels ?? {},
      ...(typeof sa === "string" ? { serviceAccount: sa } : {}),
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
