// The node's pod network: its addresses, forwarding sysctls, pod CIDRs and IP allocators, the
// datapath's node config, the tunnel device (tunnel mode), routes to other nodes' pod CIDRs
// (native mode, or into the tunnel) and the ipcache. Routes and ipcache are desired state
// derived from the nodes and endpoints tables; until the cluster store's first sync they are
// only added to, never pruned, so a restarting agent never withdraws what still forwards.
import type { HyphaConfig } from "../config/schema.ts";
import type { NodeConfig } from "../bpf/generated/host.ts";
import { type Cidr, IpAllocator, type IpFamily, parseCidr, parseIp } from "../ipam/mod.ts";
import {
  deleteLink,
  ensureSysctl,
  ensureVxlan,
  getLink,
  reconcileRoutes,
  type Route,
  type RouteReconcile,
} from "../netlink/mod.ts";
import type { Logger } from "../plugin/plugin.ts";
import type { State } from "../state/mod.ts";
import type { ClusterStore, NodeRegistration, PodCidrRequest } from "../store/store.ts";
import { addrWords } from "../datapath/addr.ts";
import type { ClusterMaps } from "../datapath/cluster_maps.ts";
import type { PodDatapath } from "../datapath/pod_datapath.ts";
import { deviceAddresses } from "./addresses.ts";
import { desiredIpcache } from "./ipcache.ts";
import { natPortsClash } from "./nat_ports.ts";
import { datapathMonitor } from "../flows/monitor.ts";

/** CONFIG_F_* in bpf/lib/config.h */
const CONFIG_F = { enabled: 0x1, tunnel: 0x2, masquerade: 0x4, hostRouting: 0x8 } as const;
/** VXLAN over IPv4: outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14). */
const VXLAN_OVERHEAD = 50;
/** Prefix of the host-side veth names of endpoints (their host routes are the endpoints'). */
export const ENDPOINT_IFNAME_PREFIX = "hyx";

export interface NodeNetworkOptions {
  config: HyphaConfig;
  state: State;
  store: ClusterStore;
  maps: ClusterMaps;
  pods: PodDatapath;
  log: Logger;
  instance: string;
  uplink: string;
}

export interface NetworkStatus {
  routing: "tunnel" | "native";
  addresses: string[];
  podCIDRs: string[];
  mtu: number;
  tunnelDevice: string | null;
  masquerade: boolean;
  ipam: Array<{ cidr: string; used: number; available: number }>;
  lastRoutes: RouteReconcile | null;
}

export class NodeNetwork {
  readonly self: string;
  readonly #o: NodeNetworkOptions;
  readonly addresses: { v4: string | undefined; v6: string | undefined };
  readonly mtu: number;
  #podCIDRs: Cidr[] = [];
  readonly allocators = new Map<IpFamily, IpAllocator>();
  #synced = false;
  #routeTimer: ReturnType<typeof setTimeout> | undefined;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #routesBusy: Promise<void> = Promise.resolve();
  #lastRoutes: RouteReconcile | null = null;
  #unsubscribe: Array<() => void> = [];
  #cidrIds: ReadonlyMap<string, number> = new Map();
  #pruneGate: Promise<unknown> = Promise.resolve();

  private constructor(o: NodeNetworkOptions, addresses: NodeNetwork["addresses"], mtu: number) {
    this.#o = o;
    this.self = o.config.node.name;
    this.addresses = addresses;
    this.mtu = mtu;
  }

  /** Addresses, sysctls, tunnel device and the datapath's node config. */
  static async prepare(o: NodeNetworkOptions): Promise<NodeNetwork> {
    const { node, networking } = o.config;
    const found = await deviceAddresses(o.uplink);
    const v4 = node.address || found.v4;
    if (!v4) {
      throw new Error(
        `Node "${node.name}" has no IPv4 address on "${o.uplink}": set node.address or give the ` +
          "device an address",
      );
    }
    const addresses = { v4, v6: node.addressV6 || found.v6 };
    const uplink = await getLink(o.uplink);
    const base = networking.mtu || (uplink?.mtu ?? 1500) -
        (networking.routing === "tunnel" ? VXLAN_OVERHEAD : 0);
    const net = new NodeNetwork(o, addresses, base);
    await ensureSysctl("net.ipv4.ip_forward", "1");
    const clash = natPortsClash(
      await Deno.readTextFile("/proc/sys/net/ipv4/ip_local_port_range").catch(() => ""),
      networking.natPortMin,
      networking.natPortMax,
    );
    if (clash) o.log.warn(clash);
    if (networking.ipv6.pool) await ensureSysctl("net.ipv6.conf.all.forwarding", "1");
    let tunnelIfindex = 0;
    if (networking.routing === "tunnel") {
      const dev = await ensureVxlan(
        networking.tunnelDevice,
        networking.tunnelPort,
        (uplink?.mtu ?? 1500) - VXLAN_OVERHEAD,
      );
      tunnelIfindex = dev.ifindex;
      net.#checkAttach(o.pods.reconcileTunnel(networking.tunnelDevice));
    } else {
      net.#checkAttach(o.pods.reconcileTunnel(undefined));
      const stale = await getLink(networking.tunnelDevice);
      if (stale?.kind === "vxlan") await deleteLink(networking.tunnelDevice);
    }
    const cfg: NodeConfig = {
      flags: CONFIG_F.enabled | (networking.routing === "tunnel" ? CONFIG_F.tunnel : 0) |
        (networking.masquerade ? CONFIG_F.masquerade : 0) |
        (networking.hostRouting === "bpf" ? CONFIG_F.hostRouting : 0),
      node_ipv4: addrWords(parseIp(v4))[0]!,
      tunnel_ifindex: tunnelIfindex,
      nat_port_min: networking.natPortMin,
      nat_port_max: networking.natPortMax,
      node_ipv6: addresses.v6 ? addrWords(parseIp(addresses.v6)) : [0, 0, 0, 0],
      ...datapathMonitor(o.config.observability),
    };
    o.maps.config.set(0, cfg);
    const r = o.maps.config.flush();
    if (r.errors.length) throw new Error(`Writing the node config map: ${r.errors[0]!.message}`);
    return net;
  }

  #checkAttach(r: { errors: Array<{ ifname: string; message: string }> }): void {
    if (r.errors.length) {
      throw new Error(
        `Attaching tunnel programs: ${r.errors.map((e) => `${e.ifname}: ${e.message}`).join("; ")}`,
      );
    }
  }

  /** Claims the pod CIDRs through the store (waiting for it) and registers this node. */
  async register(): Promise<void> {
    const { node, networking } = this.#o.config;
    const requests: PodCidrRequest[] = [{
      family: 4,
      pool: networking.ipv4.pool,
      maskSize: networking.ipv4.nodeMaskSize,
      ...(node.podCIDR ? { fixed: node.podCIDR } : {}),
    }];
    if (networking.ipv6.pool) {
      requests.push({
        family: 6,
        pool: networking.ipv6.pool,
        maskSize: networking.ipv6.nodeMaskSize,
        ...(node.podCIDRv6 ? { fixed: node.podCIDRv6 } : {}),
      });
    }
    const registration: NodeRegistration = {
      name: node.name,
      cluster: node.cluster,
      addresses: [this.addresses.v4!, ...(this.addresses.v6 ? [this.addresses.v6] : [])],
      instance: this.#o.instance,
    };
    const cidrs = await this.#o.store.register(registration, requests);
    this.#podCIDRs = cidrs.map((c) => parseCidr(c));
    for (const c of this.#podCIDRs) {
      if (!this.allocators.has(c.address.family)) {
        this.allocators.set(c.address.family, new IpAllocator(c));
      }
    }
    this.#o.log.info("node registered", { podCIDRs: cidrs.join(","), store: this.#o.store.kind });
  }

  get podCIDRs(): Cidr[] {
    return this.#podCIDRs;
  }

  get ready(): boolean {
    return this.#podCIDRs.length > 0;
  }

  /** The node-local identities of the prefixes policies name (ipcache rows of their own). */
  setCidrIdentities(ids: ReadonlyMap<string, number>): void {
    if (JSON.stringify([...ids]) === JSON.stringify([...this.#cidrIds])) return;
    this.#cidrIds = ids;
    this.#scheduleFlush();
  }

  /**
   * Follows the state tables: ipcache and routes. Pruning starts after the store's first sync
   * and `gate` (the first policy computation, which names the CIDR rows), so nothing that a
   * restart will re-add is deleted first.
   */
  start(gate: Promise<unknown> = Promise.resolve()): void {
    this.#pruneGate = gate;
    const { state, store } = this.#o;
    const changed = () => {
      this.#scheduleFlush();
      this.#scheduleRoutes();
    };
    this.#unsubscribe.push(state.nodes.subscribe(changed), state.endpoints.subscribe(changed));
    this.#scheduleFlush();
    this.#scheduleRoutes();
    store.synced.then(() => this.#pruneGate).then(() => {
      this.#synced = true;
      this.#syncIpcache(true);
      this.#scheduleRoutes();
    }).catch((err) =>
      this.#o.log.warn("pruning after the first sync failed", { error: String(err) })
    );
  }

  #scheduleFlush(): void {
    if (this.#flushTimer) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      this.#syncIpcache(this.#synced);
    }, 0);
  }

  /** Writes the ipcache now (endpoint ADD waits for its own rows). */
  flushIpcache(): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#syncIpcache(false);
  }

  /** Never throws: it runs from timers and table changes, and a failed sync retries on the next. */
  #syncIpcache(prune: boolean): void {
    try {
      this.#writeIpcache(prune);
    } catch (err) {
      this.#o.log.warn("ipcache sync failed; will retry on the next change", {
        error: String(err),
      });
    }
  }

  #writeIpcache(prune: boolean): void {
    const { state, maps } = this.#o;
    const rows = desiredIpcache(
      state.nodes.list(),
      state.endpoints.list(),
      this.self,
      this.#cidrIds,
    );
    if (prune) {
      maps.ipcache.replaceAll(rows);
      const r = maps.ipcache.sync();
      if (r.added + r.updated + r.removed) {
        this.#o.log.info("ipcache synced", {
          added: r.added,
          updated: r.updated,
          removed: r.removed,
        });
      }
      if (r.errors.length) this.#o.log.warn("ipcache sync errors", { first: r.errors[0]!.message });
      return;
    }
    // Before the first sync: only add and update, never delete.
    const seen = new Set(rows.map(([k]) => JSON.stringify(k)));
    const keep = [...maps.ipcache.entries()].filter(([k]) => !seen.has(JSON.stringify(k)));
    maps.ipcache.replaceAll([...keep, ...rows]);
    const r = maps.ipcache.flush();
    if (r.errors.length) this.#o.log.warn("ipcache flush errors", { first: r.errors[0]!.message });
  }

  #scheduleRoutes(): void {
    clearTimeout(this.#routeTimer);
    this.#routeTimer = setTimeout(() => {
      this.#routesBusy = this.#routesBusy.then(() => this.#reconcileRoutes()).catch((err) =>
        this.#o.log.warn("route reconcile failed; will retry on the next change", {
          error: String(err),
        })
      );
    }, 50);
  }

  desiredRoutes(): Route[] {
    const { networking } = this.#o.config;
    const routes: Route[] = [];
    for (const n of this.#o.state.nodes.list()) {
      if (n.name === this.self) continue;
      for (const c of n.podCIDRs) {
        const v6 = c.includes(":");
        if (networking.routing === "tunnel") {
          routes.push({ dst: c, dev: networking.tunnelDevice });
          continue;
        }
        const via = n.addresses.find((a) => a.includes(":") === v6);
        if (via) routes.push({ dst: c, via, dev: this.#o.uplink });
      }
    }
    return routes;
  }

  async #reconcileRoutes(): Promise<void> {
    const synced = this.#synced;
    const r = await reconcileRoutes(this.desiredRoutes(), {
      // endpoint host routes belong to the endpoints; before the store's first sync nothing
      // is pruned
      keep: (route) => !synced || route.dev.startsWith(ENDPOINT_IFNAME_PREFIX),
    });
    this.#lastRoutes = r;
    if (r.added + r.updated + r.removed) {
      this.#o.log.info("routes reconciled", {
        added: r.added,
        updated: r.updated,
        removed: r.removed,
      });
    }
  }

  /** Waits for pending route work (tests, shutdown). */
  async settle(): Promise<void> {
    await this.#routesBusy;
  }

  status(): NetworkStatus {
    const { networking } = this.#o.config;
    return {
      routing: networking.routing,
      addresses: [this.addresses.v4, this.addresses.v6].filter((a): a is string => !!a),
      podCIDRs: this.#podCIDRs.map(String),
      mtu: this.mtu,
      tunnelDevice: networking.routing === "tunnel" ? networking.tunnelDevice : null,
      masquerade: networking.masquerade,
      ipam: [...this.allocators.values()].map((a) => ({
        cidr: a.cidr.toString(),
        used: a.used,
        available: Number(a.available),
      })),
      lastRoutes: this.#lastRoutes,
    };
  }

  stop(): void {
    for (const u of this.#unsubscribe) u();
    this.#unsubscribe = [];
    clearTimeout(this.#routeTimer);
    clearTimeout(this.#flushTimer);
  }
}
