// Pod networking on this node, assembled: the pod datapath (endpoint and tunnel programs), the
// cluster store, the node's network (addresses, pod CIDRs, routes, ipcache), the endpoints and
// the CNI entry point. bringUp() waits for the cluster store; until then the node serves its API
// but answers CNI ADD with "not ready".
import type { EndpointRow, NetworkView, NodeRow } from "../api/backend.ts";
import { NotFoundError } from "../api/errors.ts";
import type { HyphaConfig } from "../config/schema.ts";
import type { HostDatapath } from "../datapath/host.ts";
import { collectExpired } from "../datapath/ct_gc.ts";
import { PodDatapath } from "../datapath/pod_datapath.ts";
import { CniHandler } from "../endpoint/cni_handler.ts";
import { PolicyEnforcer, type PolicyEnforcerOptions } from "./policy_enforcer.ts";
import { applyPolicies, deletePolicies, describePolicy, tracePolicy } from "./policy_api.ts";
import { applyServices, deleteServices, type ServiceApiContext } from "./service_api.ts";
import { serviceOptions } from "../service/options.ts";
import { EndpointManager } from "../endpoint/manager.ts";
import { NodeNetwork } from "../network/node_network.ts";
import type { Logger } from "../plugin/plugin.ts";
import type { State } from "../state/mod.ts";
import { type ClusterStore, createStore } from "../store/mod.ts";
import { instanceId } from "./instance_id.ts";
import type { NodePaths } from "./paths.ts";

export interface NetworkingOptions {
  config: HyphaConfig;
  paths: NodePaths;
  state: State;
  host: HostDatapath;
  uplink: string;
  log: Logger;
  onRegeneration?: PolicyEnforcerOptions["onRegeneration"];
}

export class Networking {
  readonly store: ClusterStore;
  readonly network: NodeNetwork;
  readonly endpoints: EndpointManager;
  readonly cni: CniHandler;
  readonly policy: PolicyEnforcer;
  readonly #pods: PodDatapath;
  readonly #o: NetworkingOptions;
  readonly #services: ServiceApiContext;
  #up = false;
  #gcTimer: ReturnType<typeof setInterval> | undefined;

  private constructor(
    o: NetworkingOptions,
    pods: PodDatapath,
    store: ClusterStore,
    network: NodeNetwork,
  ) {
    this.#o = o;
    this.#pods = pods;
    this.store = store;
    this.network = network;
    this.endpoints = new EndpointManager({
      node: o.config.node.name,
      cluster: o.config.node.cluster,
      excludeLabels: o.config.policy.identityExcludeLabels,
      stateDir: o.paths.stateDir,
      state: o.state,
      store,
      maps: o.host.clusterMaps,
      pods,
      network,
      log: o.log,
    });
    this.cni = new CniHandler(this.endpoints, { notReady: () => this.notReady() }, o.log);
    this.policy = new PolicyEnforcer({
      config: o.config,
      state: o.state,
      store,
      maps: o.host.clusterMaps,
      endpoints: this.endpoints,
      network,
      stateDir: o.paths.stateDir,
      log: o.log,
      ...(o.onRegeneration ? { onRegeneration: o.onRegeneration } : {}),
    });
    this.endpoints.setPolicyHook(this.policy);
    this.#services = { store, state: o.state, options: serviceOptions(o.config.services) };
  }

  static async create(o: NetworkingOptions): Promise<Networking> {
    const pods = PodDatapath.load(o.paths, o.config.datapath.attachMode);
    try {
      const store = await createStore({
        config: o.config,
        state: o.state,
        stateDir: o.paths.stateDir,
        log: o.log,
      });
      const network = await NodeNetwork.prepare({
        config: o.config,
        state: o.state,
        store,
        maps: o.host.clusterMaps,
        pods,
        log: o.log,
        instance: await instanceId(o.paths.stateDir, o.paths.pinDir),
        uplink: o.uplink,
      });
      return new Networking(o, pods, store, network);
    } catch (err) {
      pods.close();
      throw err;
    }
  }

  /**
   * Registers with the cluster store (waiting for it), restores the local endpoints, then
   * follows the cluster. Local endpoints are back in the state tables before the store's first
   * sync lets the ipcache prune, so a restart never withdraws a local pod's entry.
   */
  async bringUp(): Promise<void> {
    await this.network.register();
    await this.policy.start();
    const r = await this.endpoints.restore();
    if (r.restored || r.removed || r.rebuilt) this.#o.log.info("endpoints restored", r);
    this.endpoints.start();
    this.network.start(this.policy.firstRun);
    await this.store.start();
    // Ready only once the node knows the cluster and enforces its policies: a pod added before
    // that would get the policy of an empty cluster.
    await this.store.synced;
    // Identities the store no longer holds (a lost identities file) and labels of endpoints
    // rebuilt from the kernel come back now that the store is synced.
    await this.endpoints.relabel();
    await this.policy.firstRun;
    this.#gcTimer = setInterval(
      () => this.#collectConntrack(),
      this.#o.config.networking.conntrackGC * 1000,
    );
    this.#up = true;
  }

  #collectConntrack(): void {
    const maps = this.#o.host.clusterMaps;
    try {
      const r = collectExpired(maps.ct, maps.snat);
      if (r.conntrack.deleted || r.nat.deleted) {
        this.#o.log.debug("conntrack collected", {
          conntrack: `${r.conntrack.deleted}/${r.conntrack.scanned}`,
          nat: `${r.nat.deleted}/${r.nat.scanned}`,
        });
      }
    } catch (err) {
      this.#o.log.warn("conntrack garbage collection failed", { error: String(err) });
    }
  }

  notReady(): string | undefined {
    if (this.#up) return undefined;
    const s = this.store.status();
    return `waiting for the ${s.kind} cluster store${s.lastError ? ` (${s.lastError})` : ""}`;
  }

  view(): NetworkView {
    const n = this.network.status();
    const s = this.store.status();
    return {
      routing: n.routing,
      addresses: n.addresses,
      podCIDRs: n.podCIDRs,
      mtu: n.mtu,
      tunnelDevice: n.tunnelDevice,
      masquerade: n.masquerade,
      ipam: n.ipam,
      store: {
        kind: s.kind,
        connected: s.connected,
        synced: s.synced,
        ...(s.lastError ? { lastError: s.lastError } : {}),
      },
    };
  }

  nodes(): NodeRow[] {
    const self = this.#o.config.node.name;
    return this.#o.state.nodes.list().map((n) => ({ ...n, self: n.name === self }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  endpointRows(): EndpointRow[] {
    const local = new Map(this.endpoints.list().map((e) => [e.id, e]));
    const self = this.#o.config.node.name;
    return this.#o.state.endpoints.list().map((e) => {
      const l = e.node === self ? local.get(e.id) : undefined;
      return {
        node: e.node,
        id: e.id,
        namespace: e.namespace,
        pod: e.pod,
        identity: e.identity,
        ips: e.ips,
        labels: e.labels,
        containerId: e.containerId,
        ...(l ? { hostIfname: l.hostIfname, state: "ready" } : {}),
      };
    }).sort((a, b) => a.node.localeCompare(b.node) || a.id - b.id);
  }

  endpoint(id: number): Record<string, unknown> {
    const ep = this.endpoints.get(id);
    if (!ep) throw new NotFoundError(`No endpoint ${id} on this node (see hypha endpoint list)`);
    const state = this.endpoints.policyState(id);
    return {
      ...ep,
      state: "ready",
      policyGeneration: state.generation,
      policy: describePolicy(this.policy.endpointPolicy(id), this.#o.state),
    };
  }

  policies(): Record<string, unknown> {
    return { ...this.policy.status(), storeRevision: this.store.policyRevision };
  }

  applyPolicies(text: string): Promise<Record<string, unknown>> {
    return applyPolicies(this.store, text);
  }

  deletePolicies(text: string): Promise<Record<string, unknown>> {
    return deletePolicies(this.store, text);
  }

  tracePolicy(q: { from: string; to: string; port: string }): Record<string, unknown> {
    return tracePolicy(this.policy, this.#o.state, this.#o.config.node.cluster, q);
  }

  applyServices(text: string): Promise<Record<string, unknown>> {
    return applyServices(this.#services, text);
  }

  deleteServices(text: string): Promise<Record<string, unknown>> {
    return deleteServices(this.#services, text);
  }

  attachments() {
    return this.#pods.attachments();
  }

  async stop(): Promise<void> {
    clearInterval(this.#gcTimer);
    this.policy.stop();
    await this.policy.settle();
    this.endpoints.stop();
    this.network.stop();
    await this.network.settle();
    await this.store.stop();
    this.#pods.close();
  }
}
