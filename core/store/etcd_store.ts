// The etcd store (kvstore mode): the distributed engine of a multi-node cluster. A node
// registers under a lease (it expires when the agent dies), claims pod CIDRs with
// compare-and-swap (no two nodes ever hold one), publishes its endpoints under the same lease,
// allocates identities without duplicates, and follows every other node and endpoint through
// watches that resume from the last revision. While etcd is unreachable nothing is withdrawn:
// the state tables keep what was last known and writes are retried. Services are stored with
// their claimed cluster IPs and node ports (etcd_services.ts).
import { type EtcdAuth, EtcdClient, EtcdError, type EtcdTls } from "../etcd/mod.ts";
import type { LeaseKeeper, Watch } from "../etcd/mod.ts";
import { compare, op } from "../etcd/mod.ts";
import { nodeCidrCount, nthNodeCidr, parseCidr, tryParseCidr } from "../ipam/mod.ts";
import type { Logger } from "../plugin/plugin.ts";
import type { EndpointRecord, State } from "../state/mod.ts";
import { join } from "node:path";
import { EtcdIdentities } from "./etcd_identities.ts";
import { EtcdKeys } from "./etcd_keys.ts";
import { EtcdServices } from "./etcd_services.ts";
import { DEFAULT_SERVICE_OPTIONS, type ServiceOptions } from "../service/options.ts";
import { mirrorCluster, MIRRORS, type NodeValue } from "./etcd_tables.ts";
import { damagedStateFiles, readStateText, writeStateFile } from "../state_files/mod.ts";
import type { PodPools } from "./records/checks.ts";
import { namespaceRecord, nodeRecord, podRecord, type Read, readRecord } from "./records/shapes.ts";
import {
  type ClusterStore,
  NodeConflictError,
  type NodeRegistration,
  type PodCidrRequest,
  type PodLabels,
  type StoreStatus,
} from "./store.ts";

export interface EtcdStoreOptions {
  endpoints: string[];
  prefix: string;
  leaseTTL: number;
  timeoutMs: number;
  node: string;
  cluster: string;
  state: State;
  stateDir: string;
  log: Logger;
  /** Ranges services are checked against; default: the config schema's defaults. */
  services?: ServiceOptions;
  tls?: EtcdTls;
  auth?: EtcdAuth;
  /** See EtcdClientOptions.watchLivenessMs. */
  watchLivenessMs?: number;
  /** This node's pod pools (other nodes' pod CIDRs must be inside); default: the schema's. */
  pools?: PodPools;
}

/** networking.ipv4.pool and ipv6.pool as the config schema defaults them. */
const DEFAULT_POOLS: PodPools = { v4: "10.244.0.0/16", v6: "" };

const RETRY_MAX_MS = 5_000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class EtcdStore implements ClusterStore {
  readonly kind = "etcd" as const;
  readonly synced: Promise<void>;
  readonly #o: EtcdStoreOptions;
  readonly #client: EtcdClient;
  readonly #keys: EtcdKeys;
  readonly #syncedResolve: () => void;
  readonly #pending = new Map<string, string | null>(); // key -> value to put, or null: delete
  readonly #ids: EtcdIdentities;
  readonly #services: EtcdServices;
  readonly #watches: Watch[] = [];
  #registration: NodeValue | undefined;
  #lease: bigint | undefined;
  #keeper: LeaseKeeper | undefined;
  #writer: Promise<void> | undefined;
  #connected = false;
  #isSynced = false;
  #lastError: string | undefined;
  #stopped = false;
  #policyRevision = 0;
  /** Identities this node references in etcd. */
  #refs = new Set<number>();
  #gcTimer: ReturnType<typeof setInterval> | undefined;

  constructor(o: EtcdStoreOptions) {
    this.#o = o;
    this.#client = new EtcdClient({
      endpoints: o.endpoints,
      timeoutMs: o.timeoutMs,
      ...(o.tls ? { tls: o.tls } : {}),
      ...(o.auth ? { auth: o.auth } : {}),
      ...(o.watchLivenessMs ? { watchLivenessMs: o.watchLivenessMs } : {}),
      logger: {
        warn: (m, f) => o.log.warn(`etcd: ${m}`, f),
        error: (m, f) => o.log.error(`etcd: ${m}`, f),
      },
    });
    this.#keys = new EtcdKeys(o.prefix, o.cluster);
    this.#ids = new EtcdIdentities(this.#client, this.#keys, o.log);
    this.#services = new EtcdServices(this.#client, this.#keys, o.log);
    const { promise, resolve } = Promise.withResolvers<void>();
    this.synced = promise;
    this.#syncedResolve = resolve;
  }

  /** Runs `fn` until etcd answers; unreachable etcd is logged and retried with backoff. */
  async #retry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    let delay = 200;
    for (let attempt = 1;; attempt++) {
      if (this.#stopped) throw new Error(`${what}: the store is stopping`);
      try {
        const r = await fn();
        if (!this.#connected) {
          this.#o.log.info("etcd reachable", { endpoint: this.#client.endpoint });
        }
        this.#connected = true;
        this.#lastError = undefined;
        return r;
      } catch (err) {
        if (!(err instanceof EtcdError) || !err.unavailable) throw err;
        this.#connected = false;
        this.#lastError = err.message;
        if (attempt === 1 || attempt % 10 === 0) {
          this.#o.log.warn(`${what}: etcd unreachable, retrying`, {
            endpoints: this.#o.endpoints.join(","),
            attempt,
            error: err.message,
          });
        }
        await sleep(delay);
        delay = Math.min(delay * 2, RETRY_MAX_MS);
      }
    }
  }

  async register(node: NodeRegistration, cidrs: PodCidrRequest[]): Promise<string[]> {
    return await this.#retry("registering the node", async () => {
      await this.#checkConflict(node);
      await this.#ensureLease();
      const podCIDRs: string[] = [];
      for (const req of cidrs) podCIDRs.push(await this.#claimCidr(node.name, req));
      const value: NodeValue = { ...node, podCIDRs, registeredAt: new Date().toISOString() };
      await this.#client.put(this.#keys.node(node.name), JSON.stringify(value), {
        lease: this.#lease!,
      });
      this.#registration = value;
      this.#o.state.nodes.upsert(node.name, {
        name: node.name,
        cluster: node.cluster,
        addresses: node.addresses,
        podCIDRs,
        source: "self",
      });
      this.#startKeeper();
      return podCIDRs;
    });
  }

  /** Another live agent under the same node name is an operator error: refuse, clearly. */
  async #checkConflict(node: NodeRegistration): Promise<void> {
    const kv = await this.#client.get(this.#keys.node(node.name));
    if (!kv) return;
    const held = readRecord(kv.value, nodeRecord);
    // unreadable: not an agent's registration, ours to overwrite
    if (!held.ok || held.value.instance === node.instance) return;
    const alive = kv.lease ? await this.#client.timeToLive(kv.lease) : undefined;
    if (!alive || alive.ttl <= 0) return;
    throw new NodeConflictError(
      `Node name "${node.name}" is registered by another agent (instance ${held.value.instance}, ` +
        `addresses ${held.value.addresses.join(", ")}) whose lease is alive for ${alive.ttl}s: ` +
        "give this node another node.name, or stop the other agent",
    );
  }

  get #leaseFile(): string {
    return join(this.#o.stateDir, "etcd_lease");
  }

  /** Reuses the lease of the previous run while it is alive (a restart changes nothing). */
  async #ensureLease(): Promise<void> {
    if (this.#lease !== undefined) return;
    const saved = await readStateText(this.#leaseFile, parseLeaseId);
    if (saved.kind === "damaged") {
      damagedStateFiles.report(this.#leaseFile, saved.problem, "a new lease is granted");
    }
    if (saved.kind === "ok") {
      const info = await this.#client.timeToLive(saved.value);
      if (info && info.ttl > 0) {
        this.#lease = saved.value;
        return;
      }
    }
    this.#lease = await this.#client.grant(this.#o.leaseTTL);
    await writeStateFile(this.#leaseFile, String(this.#lease));
  }

  #startKeeper(): void {
    if (this.#keeper && !this.#keeper.stopped && !this.#keeper.lost) return;
    this.#keeper = this.#client.keepAlive(this.#lease!, {
      onLost: (id, reason) => {
        this.#o.log.warn("node lease lost; registering again", { lease: String(id), reason });
        this.#lease = undefined;
        this.#reRegister();
      },
    });
  }

  /** After a lost lease: a new lease, the node and every endpoint again. */
  #reRegister(): void {
    const reg = this.#registration;
    if (!reg || this.#stopped) return;
    this.#retry("re-registering the node", async () => {
      await this.#ensureLease();
      await this.#client.put(this.#keys.node(reg.name), JSON.stringify(reg), {
        lease: this.#lease!,
      });
      this.#startKeeper();
      for (const ep of this.#o.state.endpoints.list()) {
        if (ep.node === this.#o.node) this.publishEndpoint(ep);
      }
      for (const id of this.#refs) {
        this.#pending.set(this.#keys.identityRef(id, this.#o.node), "");
      }
      this.#kickWriter();
    }).catch((err) => this.#o.log.error("re-registration failed", { error: String(err) }));
  }

  async #claimCidr(node: string, req: PodCidrRequest): Promise<string> {
    const mine = async (cidr: string) => {
      const key = this.#keys.podCidr(cidr);
      const r = await this.#client.txn({
        compare: [compare.createRevision(key, "=", 0n)],
        success: [op.put(key, node)],
        failure: [op.get(key)],
      });
      if (r.succeeded) return true;
      const held = r.responses[0];
      const owner = held && "kvs" in held ? held.kvs[0]?.value : undefined;
      return owner === node;
    };
    if (req.fixed) {
      if (await mine(req.fixed)) return req.fixed;
      const kv = await this.#client.get(this.#keys.podCidr(req.fixed));
      throw new Error(
        `node.podCIDR${req.family === 6 ? "v6" : ""} "${req.fixed}" is held by node "${kv?.value}"`,
      );
    }
    const pool = parseCidr(req.pool);
    const held = await this.#client.getPrefix(this.#keys.podCidrs);
    // Claims are records like any other: one that is no CIDR is not ours and takes nothing.
    const claims = held.kvs.flatMap((kv) => {
      const cidr = tryParseCidr(this.#keys.cidrOf(kv.key), { strict: true });
      return cidr && cidr.family === req.family && pool.containsCidr(cidr)
        ? [{ cidr, node: kv.value }]
        : [];
    });
    const ours = claims.find((c) => c.node === node);
    if (ours) return ours.cidr.toString(); // ours from a previous run
    const count = nodeCidrCount(pool, req.maskSize);
    for (let i = 0n; i < count; i++) {
      const candidate = nthNodeCidr(pool, req.maskSize, i);
      // Overlapping another claim (even of another size) would make both unusable to the others.
      if (claims.some((c) => c.cidr.overlaps(candidate))) continue;
      if (await mine(candidate.toString())) return candidate.toString();
    }
    throw new Error(
      `networking.ipv${req.family}.pool "${req.pool}" has no free /${req.maskSize} left for node "${node}"`,
    );
  }

  async start(): Promise<void> {
    const { state, node, log } = this.#o;
    const keys = this.#keys;
    const mirrors = MIRRORS;
    let synced = 0;
    const onSynced = () => {
      if (++synced !== mirrors || this.#isSynced) return;
      this.#isSynced = true;
      this.#syncedResolve();
      log.info("cluster store synced", {
        nodes: state.nodes.size,
        endpoints: state.endpoints.size,
      });
    };
    this.#watches.push(...mirrorCluster({
      client: this.#client,
      keys,
      state,
      node,
      cluster: this.#o.cluster,
      pools: this.#o.pools ?? DEFAULT_POOLS,
      log,
      onSynced,
      identities: this.#ids,
      onPolicyRevision: (r) => {
        this.#policyRevision = Math.max(this.#policyRevision, r);
      },
      services: this.#o.services ?? DEFAULT_SERVICE_OPTIONS,
    }));
    await Promise.resolve();
  }

  /** The store revision the policies table reflects. */
  get policyRevision(): number {
    return this.#policyRevision;
  }

  async putPolicy(key: string, manifest: unknown): Promise<number> {
    const r = await this.#retry(
      "storing a policy",
      () => this.#client.put(`${this.#keys.policies}${key}`, JSON.stringify(manifest)),
    );
    return Number(r.revision);
  }

  async deletePolicy(key: string): Promise<number | undefined> {
    const r = await this.#retry(
      "deleting a policy",
      () => this.#client.delete(`${this.#keys.policies}${key}`),
    );
    return r.deleted ? Number(r.revision) : undefined;
  }

  async putService(key: string, manifest: unknown): Promise<number> {
    const r = await this.#retry("storing a service", () => this.#services.put(key, manifest));
    return Number(r);
  }

  async deleteService(key: string): Promise<number | undefined> {
    const r = await this.#retry("deleting a service", () => this.#services.delete(key));
    return r === undefined ? undefined : Number(r);
  }

  async storedService(key: string): Promise<unknown | undefined> {
    return await this.#retry("reading a service", () => this.#services.stored(key));
  }

  async putEndpointSlice(key: string, manifest: unknown): Promise<number> {
    const r = await this.#retry(
      "storing an endpoint slice",
      () => this.#services.putSlice(key, manifest),
    );
    return Number(r);
  }

  async deleteEndpointSlice(key: string): Promise<number | undefined> {
    const r = await this.#retry(
      "deleting an endpoint slice",
      () => this.#services.deleteSlice(key),
    );
    return r === undefined ? undefined : Number(r);
  }

  useIdentities(ids: ReadonlySet<number>): void {
    for (const id of ids) {
      if (!this.#refs.has(id)) this.#pending.set(this.#keys.identityRef(id, this.#o.node), "");
    }
    for (const id of this.#refs) {
      if (!ids.has(id)) this.#pending.set(this.#keys.identityRef(id, this.#o.node), null);
    }
    this.#refs = new Set(ids);
    this.#kickWriter();
  }

  /** One round of identity garbage collection (see EtcdIdentities.collect). */
  collectIdentities(): Promise<number[]> {
    return this.#ids.collect();
  }

  publishEndpoint(ep: EndpointRecord): void {
    this.#pending.set(this.#keys.endpoint(ep.node, ep.id), JSON.stringify(ep));
    this.#kickWriter();
  }

  withdrawEndpoint(ep: Pick<EndpointRecord, "node" | "id">): void {
    this.#pending.set(this.#keys.endpoint(ep.node, ep.id), null);
    this.#kickWriter();
  }

  /** Drains pending endpoint writes in order, retrying while etcd is unreachable. */
  #kickWriter(): void {
    if (this.#writer) return;
    this.#writer = (async () => {
      while (this.#pending.size && !this.#stopped) {
        const [key, value] = this.#pending.entries().next().value!;
        try {
          await this.#retry("publishing endpoints", async () => {
            if (value === null) await this.#client.delete(key);
            else {
              if (this.#lease === undefined) await this.#ensureLease();
              await this.#client.put(key, value, { lease: this.#lease! });
            }
          });
          if (this.#pending.get(key) === value) this.#pending.delete(key);
        } catch (err) {
          if (this.#stopped) break;
          this.#o.log.warn("endpoint write failed; retrying", { key, error: String(err) });
          await sleep(1000);
        }
      }
    })().finally(() => {
      this.#writer = undefined;
      if (this.#pending.size && !this.#stopped) this.#kickWriter();
    });
  }

  async identityFor(labels: Record<string, string>): Promise<number> {
    return await this.#retry("allocating an identity", () => this.#ids.identityFor(labels));
  }

  async podLabels(namespace: string, name: string): Promise<PodLabels | undefined> {
    const get = async <T>(key: string, read: (value: string) => Read<T>) => {
      try {
        const kv = await this.#client.get(key, { timeoutMs: this.#o.timeoutMs });
        const r = kv && read(kv.value);
        // a bad record is reported by the watch (the rejected table); here it counts as absent
        return r?.ok ? r.value : undefined;
      } catch {
        return undefined; // labels from the store are optional; CNI labels still apply
      }
    };
    const [pod, ns] = await Promise.all([
      get(this.#keys.pod(namespace, name), (v) => readRecord(v, podRecord)),
      get(this.#keys.namespace(namespace), (v) => readRecord(v, namespaceRecord)),
    ]);
    if (!pod && !ns) return undefined;
    return {
      labels: pod?.labels ?? {},
      namespaceLabels: ns?.labels ?? {},
      ...(pod?.serviceAccount ? { serviceAccount: pod.serviceAccount } : {}),
      ...(pod?.namedPorts ? { namedPorts: pod.namedPorts } : {}),
    };
  }

  status(): StoreStatus {
    return {
      kind: "etcd",
      connected: this.#connected,
      synced: this.#isSynced,
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
      detail: {
        endpoints: this.#o.endpoints,
        lease: this.#lease === undefined ? null : String(this.#lease),
        pendingWrites: this.#pending.size,
      },
    };
  }

  /** Collects unused identities every `seconds` (0 = never). */
  startIdentityGc(seconds: number): void {
    if (seconds <= 0) return;
    this.#gcTimer = setInterval(() => {
      this.collectIdentities().catch((err) =>
        this.#o.log.warn("identity GC round failed", { error: String(err) })
      );
    }, seconds * 1000);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#gcTimer);
    // The lease is not revoked: a restarting agent picks it up again; a dead one expires.
    await this.#keeper?.stop();
    await Promise.all(this.#watches.map((w) => w.close()));
    await this.#writer?.catch(() => {});
    await this.#client.close();
  }
}

/** The lease file: an etcd lease id in decimal. */
function parseLeaseId(text: string): bigint {
  const t = text.trim();
  if (!/^[1-9][0-9]{0,19}$/.test(t)) throw new Error(`"${t.slice(0, 30)}" is not a lease id`);
  return BigInt(t);
}
