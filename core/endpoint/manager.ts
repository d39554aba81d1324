// Local endpoints (pods wired into this node): CNI ADD, DEL, CHECK and GC, and restoring them
// after a restart. Every change goes through one queue, so concurrent CNI calls never interleave
// half-applied state. ADD either completes (veth, addresses, routes, programs, map entries, file
// on disk, store) or leaves nothing behind.
import { CniErrorCode } from "../cni/errors.ts";
import type { HyphaResult } from "../cni/result.ts";
import { type Ip, IpamExhaustedError, type IpFamily, parseIp } from "../ipam/mod.ts";
import {
  createVeth,
  deleteLink,
  getLink,
  HYPHA_ROUTE_PROTO,
  listIfnames,
  writeIfalias,
} from "../netlink/mod.ts";
import type { Logger } from "../plugin/plugin.ts";
import { endpointKey, type HostPortMapping, type State } from "../state/mod.ts";
import type { ClusterStore } from "../store/store.ts";
import { endpointKeyOf, randomMac } from "../datapath/addr.ts";
import type { ClusterMaps } from "../datapath/cluster_maps.ts";
import type { PodDatapath } from "../datapath/pod_datapath.ts";
import { ENDPOINT_IFNAME_PREFIX, type NodeNetwork } from "../network/node_network.ts";
import { cniError, HyphaCniCode } from "./errors.ts";
import { EndpointFiles, type LocalEndpoint } from "./persist.ts";
import { checkNetns, configurePod, netnsExists, podAddresses } from "./pod_netns.ts";
import { SerialQueue } from "./serial_queue.ts";
import { cniResult, endpointInfo as info, endpointRecord as record } from "./rows.ts";
import { existsIfname, readIfindex } from "../netlink/sysfs.ts";
import { resolveWorkload } from "./workload.ts";
import { encodeKernelRecord } from "./kernel_record.ts";
import { rebuildDamaged } from "./rebuild.ts";
import { workloadOf } from "../identity/labels.ts";

export interface AddRequest {
  containerId: string;
  netns: string;
  ifname: string;
  namespace: string;
  pod: string;
  labels: Record<string, string>;
  /** MTU from the network config; 0 = the node's pod MTU. */
  mtu: number;
  /** Host ports the runtime maps to the pod (served by the load balancer). */
  hostPorts?: HostPortMapping[];
}

/** The policy side of endpoints (core/agent/policy_enforcer.ts implements it). */
export interface EndpointPolicyHook {
  /** Writes a new endpoint's policy; returns its endpoint map flags and policy generation. */
  prepare(ep: LocalEndpoint): { flags: number; generation: number };
  /** The endpoint went away: its policy rows go too. */
  removed(ep: LocalEndpoint): void;
}

export interface PolicyState {
  flags: number;
  generation: number;
}

export interface EndpointManagerOptions {
  node: string;
  cluster: string;
  /** Pod label keys left out of identities (config policy.identityExcludeLabels). */
  excludeLabels?: readonly string[];
  stateDir: string;
  state: State;
  store: ClusterStore;
  maps: ClusterMaps;
  pods: PodDatapath;
  network: NodeNetwork;
  log: Logger;
}

const MAX_ENDPOINT_ID = 65535;

/** The host-side veth name: stable per (container, interface), 15 characters. */
export async function hostIfname(containerId: string, ifname: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(`${containerId}/${ifname}`),
  );
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${ENDPOINT_IFNAME_PREFIX}${hex.slice(0, 12)}`;
}

export class EndpointManager {
  readonly #o: EndpointManagerOptions;
  readonly #files: EndpointFiles;
  readonly #queue = new SerialQueue();
  readonly #endpoints = new Map<number, LocalEndpoint>();
  readonly #policy = new Map<number, PolicyState>();
  #hook: EndpointPolicyHook | undefined;
  #unsubscribe: Array<() => void> = [];

  constructor(o: EndpointManagerOptions) {
    this.#o = o;
    this.#files = new EndpointFiles(o.stateDir);
  }

  setPolicyHook(hook: EndpointPolicyHook): void {
    this.#hook = hook;
  }

  /** The endpoint map flags and policy generation of an endpoint. */
  policyState(id: number): PolicyState {
    return this.#policy.get(id) ?? { flags: 0, generation: 0 };
  }

  /**
   * Switches an endpoint's enforcement flags and active policy generation: one endpoint map
   * write per address, the atomic step of a make-before-break policy update.
   */
  setPolicyState(id: number, state: PolicyState): void {
    const ep = this.#endpoints.get(id);
    if (!ep) return;
    this.#policy.set(id, state);
    const ifindex = readIfindex(ep.hostIfname);
    for (const ip of ep.ips) {
      this.#o.maps.endpoints.set(endpointKeyOf(parseIp(ip)), info(ep, ifindex, state));
    }
    const r = this.#o.maps.endpoints.flush();
    if (r.errors.length) throw new Error(`Endpoint map update: ${r.errors[0]!.message}`);
  }

  /** Follows pod and namespace labels in the cluster store: a change re-derives identities. */
  start(): void {
    const relabel = () =>
      void this.#queue.run(() => this.#relabelAll()).catch((err) =>
        this.#o.log.warn("relabeling endpoints failed", { error: String(err) })
      );
    this.#unsubscribe.push(
      this.#o.state.pods.subscribe(relabel),
      this.#o.state.namespaces.subscribe(relabel),
    );
  }

  stop(): void {
    for (const u of this.#unsubscribe) u();
    this.#unsubscribe = [];
  }

  /** Re-derives every endpoint's identity now (after the store's first sync, say). */
  relabel(): Promise<void> {
    return this.#queue.run(() => this.#relabelAll());
  }

  /** Re-derives every local endpoint's identity; changed ones are rewritten and republished. */
  async #relabelAll(): Promise<void> {
    for (const ep of this.list()) {
      const cniLabels = this.#cniLabelsOf(ep);
      if (!cniLabels) continue;
      const r = await resolveWorkload(this.#o, ep.namespace, ep.pod, cniLabels);
      const changed = r.identity !== ep.identity ||
        JSON.stringify(r.labels) !== JSON.stringify(ep.labels) ||
        JSON.stringify(r.namedPorts) !== JSON.stringify(ep.namedPorts ?? {}) ||
        ep.cniLabels === undefined;
      if (!changed) continue;
      const next: LocalEndpoint = {
        ...ep,
        identity: r.identity,
        labels: r.labels,
        cniLabels,
        namedPorts: r.namedPorts,
        ...(r.serviceAccount ? { serviceAccount: r.serviceAccount } : {}),
      };
      await this.#files.save(next);
      this.#endpoints.set(ep.id, next);
      const ifindex = readIfindex(ep.hostIfname);
      for (const ip of next.ips) {
        this.#o.maps.endpoints.set(
          endpointKeyOf(parseIp(ip)),
          info(next, ifindex, this.policyState(ep.id)),
        );
      }
      this.#o.maps.endpoints.flush();
      this.#o.state.endpoints.upsert(endpointKey(next), record(next));
      this.#o.network.flushIpcache();
      this.#publish(next);
      this.#syncIdentityRefs();
      this.#o.log.info("endpoint relabeled", {
        id: ep.id,
        pod: `${ep.namespace}/${ep.pod}`,
        identity: `${ep.identity} -> ${r.identity}`,
      });
    }
  }

  /**
   * The labels the CNI call gave. An endpoint rebuilt from the kernel lost them: they come back
   * from its identity's labels once the store knows the identity; until then (and unless the
   * store knows the pod) it keeps the identity the kernel has, rather than an empty label set.
   */
  #cniLabelsOf(ep: LocalEndpoint): Record<string, string> | undefined {
    if (ep.cniLabels) return ep.cniLabels;
    if (!ep.rebuiltAt) return ep.labels;
    const known = this.#o.state.identities.get(String(ep.identity));
    if (known) return workloadOf(known.labels).labels;
    return this.#o.state.pods.get(`${ep.namespace}/${ep.pod}`) ? {} : undefined;
  }

  list(): LocalEndpoint[] {
    return [...this.#endpoints.values()].sort((a, b) => a.id - b.id);
  }

  get(id: number): LocalEndpoint | undefined {
    return this.#endpoints.get(id);
  }

  find(containerId: string, ifname: string): LocalEndpoint | undefined {
    for (const ep of this.#endpoints.values()) {
      if (ep.containerId === containerId && ep.ifname === ifname) return ep;
    }
    return undefined;
  }

  add(req: AddRequest): Promise<HyphaResult> {
    return this.#queue.run(() => this.#add(req));
  }

  del(containerId: string, ifname: string): Promise<boolean> {
    return this.#queue.run(async () => {
      const ep = this.find(containerId, ifname);
      if (!ep) {
        // An ADD that never completed (the agent was killed inside it) may have left its veth.
        const orphan = await hostIfname(containerId, ifname);
        if (existsIfname(orphan)) await deleteLink(orphan);
        return false;
      }
      await this.#remove(ep, "deleted");
      return true;
    });
  }

  check(containerId: string, ifname: string, netns: string): Promise<void> {
    return this.#queue.run(() => this.#check(containerId, ifname, netns));
  }

  /** Removes every endpoint not in `valid` (CNI GC); returns how many went. */
  gc(valid: Array<{ containerId: string; ifname: string }>): Promise<number> {
    return this.#queue.run(async () => {
      const keep = new Set(valid.map((v) => `${v.containerId}/${v.ifname}`));
      let n = 0;
      for (const ep of this.list()) {
        if (keep.has(`${ep.containerId}/${ep.ifname}`)) continue;
        await this.#remove(ep, "garbage-collected");
        n++;
      }
      return n;
    });
  }

  async #add(req: AddRequest): Promise<HyphaResult> {
    const { network, log } = this.#o;
    if (!network.ready) {
      throw cniError(
        HyphaCniCode.NotReady,
        "The node has no pod CIDR yet",
        `the agent is waiting for the cluster store (${
          this.#o.store.status().lastError ?? "connecting"
        })`,
      );
    }
    const dup = this.find(req.containerId, req.ifname);
    if (dup) {
      throw cniError(
        HyphaCniCode.DuplicateAttachment,
        `Container "${req.containerId}" already has interface "${req.ifname}" on this network`,
        `endpoint ${dup.id} (${dup.ips.join(", ")}); DEL it first`,
      );
    }
    checkNetns(req.netns);

    const { identity, labels, namedPorts, serviceAccount } = await resolveWorkload(
      this.#o,
      req.namespace,
      req.pod,
      req.labels,
    );

    const id = this.#nextId();
    const owner = `${req.containerId}/${req.ifname}`;
    const ips: Ip[] = [];
    const undo: Array<() => Promise<unknown> | unknown> = [];
    try {
      for (const [family, alloc] of network.allocators) {
        try {
          ips.push(alloc.allocate(owner));
        } catch (err) {
          if (err instanceof IpamExhaustedError) {
            throw cniError(
              HyphaCniCode.PodCidrExhausted,
              `No free IPv${family} address in pod CIDR ${alloc.cidr}`,
              err.message,
            );
          }
          throw err;
        }
        undo.push(() => alloc.releaseOwner(owner));
      }
      const ep: LocalEndpoint = {
        node: this.#o.node,
        id,
        containerId: req.containerId,
        ifname: req.ifname,
        namespace: req.namespace,
        pod: req.pod,
        labels,
        cniLabels: req.labels,
        namedPorts,
        ...(req.hostPorts?.length ? { hostPorts: req.hostPorts } : {}),
        ...(serviceAccount ? { serviceAccount } : {}),
        identity,
        ips: ips.map(String),
        netns: req.netns,
        hostIfname: await hostIfname(req.containerId, req.ifname),
        hostMac: randomMac(),
        podMac: randomMac(),
        mtu: req.mtu || network.mtu,
        createdAt: new Date().toISOString(),
      };
      if (existsIfname(ep.hostIfname)) {
        throw cniError(
          HyphaCniCode.DuplicateAttachment,
          `Interface "${ep.hostIfname}" for container "${req.containerId}" already exists`,
          "a previous ADD for this container was not cleaned up; DEL it first",
        );
      }
      await createVeth({
        hostName: ep.hostIfname,
        hostMac: ep.hostMac,
        podName: ep.ifname,
        podMac: ep.podMac,
        netns: ep.netns,
        mtu: ep.mtu,
        hostRoutes: ep.ips.map((ip) => `${ip}/${ip.includes(":") ? 128 : 32}`),
        routeProto: HYPHA_ROUTE_PROTO,
      });
      undo.push(() => deleteLink(ep.hostIfname)); // its host routes go with it
      const kernelRecord = encodeKernelRecord(ep);
      if (kernelRecord) writeIfalias(ep.hostIfname, kernelRecord);
      await configurePod({
        netns: ep.netns,
        ifname: ep.ifname,
        gatewayMac: ep.hostMac,
        addresses: ips.map((ip) => ({
          ip: ip.toString(),
          family: ip.family,
          gateway: this.#router(ip.family),
        })),
      });
      this.#wireHost(ep);
      undo.push(() => this.#unwire(ep));
      await this.#files.save(ep);
      undo.push(() => this.#files.remove(ep.id));
      this.#endpoints.set(ep.id, ep);
      this.#publish(ep);
      this.#syncIdentityRefs();
      log.info("endpoint added", {
        id: ep.id,
        pod: `${ep.namespace}/${ep.pod}`,
        ips: ep.ips.join(","),
        identity,
        ifname: ep.hostIfname,
      });
      return cniResult(ep, (f) => this.#router(f));
    } catch (err) {
      for (const fn of undo.reverse()) {
        try {
          await fn();
        } catch (cleanupErr) {
          log.warn("cleanup after failed ADD", { error: String(cleanupErr) });
        }
      }
      throw err;
    }
  }

  #router(family: IpFamily): string {
    const alloc = this.#o.network.allocators.get(family);
    if (!alloc) throw new Error(`No IPv${family} pod CIDR`);
    return alloc.router.toString();
  }

  #nextId(): number {
    for (let id = 1; id <= MAX_ENDPOINT_ID; id++) if (!this.#endpoints.has(id)) return id;
    throw cniError(HyphaCniCode.Internal, "No endpoint id left on this node (65535 in use)");
  }

  /** Programs and map entries of an endpoint (adopts what is there already). */
  #wireHost(ep: LocalEndpoint): void {
    const ifindex = readIfindex(ep.hostIfname);
    this.#o.pods.attachEndpoint(ep.hostIfname);
    // The policy is in the map before the endpoint entry that makes the datapath use it.
    const state = this.#hook?.prepare(ep) ?? { flags: 0, generation: 0 };
    this.#policy.set(ep.id, state);
    for (const ip of ep.ips) {
      this.#o.maps.endpoints.set(endpointKeyOf(parseIp(ip)), info(ep, ifindex, state));
    }
    const r = this.#o.maps.endpoints.flush();
    if (r.errors.length) {
      throw cniError(HyphaCniCode.Internal, "Cannot write the endpoint map", r.errors[0]!.message);
    }
    this.#o.state.endpoints.upsert(endpointKey(ep), record(ep));
    this.#o.network.flushIpcache();
  }

  #unwire(ep: LocalEndpoint): void {
    for (const ip of ep.ips) this.#o.maps.endpoints.delete(endpointKeyOf(parseIp(ip)));
    this.#o.maps.endpoints.flush();
    this.#hook?.removed(ep);
    this.#policy.delete(ep.id);
    this.#o.pods.detachEndpoint(ep.hostIfname);
    this.#o.state.endpoints.delete(endpointKey(ep));
    this.#o.network.flushIpcache();
  }

  #publish(ep: LocalEndpoint): void {
    this.#o.store.publishEndpoint(record(ep));
  }

  async #remove(ep: LocalEndpoint, why: string): Promise<void> {
    this.#unwire(ep);
    await deleteLink(ep.hostIfname); // takes the pod side and the host routes with it
    for (const alloc of this.#o.network.allocators.values()) {
      alloc.releaseOwner(`${ep.containerId}/${ep.ifname}`);
    }
    await this.#files.remove(ep.id);
    this.#endpoints.delete(ep.id);
    this.#o.store.withdrawEndpoint(ep);
    this.#syncIdentityRefs();
    this.#o.log.info(`endpoint ${why}`, { id: ep.id, pod: `${ep.namespace}/${ep.pod}` });
  }

  async #check(containerId: string, ifname: string, netns: string): Promise<void> {
    const ep = this.find(containerId, ifname);
    if (!ep) {
      throw cniError(
        CniErrorCode.UnknownContainer,
        `No endpoint for container "${containerId}" interface "${ifname}"`,
      );
    }
    const fail = (msg: string) => cniError(HyphaCniCode.CheckFailed, msg, `endpoint ${ep.id}`);
    if (netns && netns !== ep.netns) throw fail(`Endpoint is in "${ep.netns}", not "${netns}"`);
    const link = await getLink(ep.hostIfname);
    if (!link) throw fail(`Host interface "${ep.hostIfname}" is missing`);
    if (!link.up) throw fail(`Host interface "${ep.hostIfname}" is down`);
    const have = new Set(await podAddresses(ep.netns, ep.ifname).catch(() => []));
    const missing = ep.ips.filter((ip) => !have.has(ip));
    if (missing.length) throw fail(`Pod interface "${ep.ifname}" lacks ${missing.join(", ")}`);
    if (!this.#o.pods.endpointInterfaces().has(ep.hostIfname)) {
      throw fail(`No datapath programs on "${ep.hostIfname}"`);
    }
    for (const ip of ep.ips) {
      const row = this.#o.maps.endpoints.get(endpointKeyOf(parseIp(ip)));
      if (!row || row.ifindex !== link.ifindex) throw fail(`Endpoint map entry of ${ip} is wrong`);
    }
  }

  /**
   * After a (re)start: re-adopts every endpoint on disk whose host veth still exists (writing
   * only what differs), rebuilds from the kernel those whose file is damaged, and cleans up
   * those whose pod went away while the agent was down and what an unfinished ADD left.
   */
  restore(): Promise<{ restored: number; removed: number; rebuilt: number }> {
    return this.#queue.run(async () => {
      const { endpoints, damaged } = await this.#files.loadAll();
      const { rebuilt, untouchable } = await rebuildDamaged(damaged, this.#files, {
        node: this.#o.node,
        maps: this.#o.maps,
        state: this.#o.state,
        identityFor: async (namespace, pod, labels) =>
          (await resolveWorkload(this.#o, namespace, pod, labels)).identity,
      });
      let restored = 0, removed = 0;
      for (const ep of [...endpoints, ...rebuilt].sort((a, b) => a.id - b.id)) {
        const alive = existsIfname(ep.hostIfname) && (!ep.netns || netnsExists(ep.netns));
        this.#endpoints.set(ep.id, ep);
        for (const alloc of this.#o.network.allocators.values()) {
          for (const ip of ep.ips) {
            const addr = parseIp(ip);
            if (addr.family === alloc.cidr.address.family && alloc.cidr.contains(addr)) {
              alloc.allocateSpecific(addr, `${ep.containerId}/${ep.ifname}`);
            }
          }
        }
        if (!alive) {
          await this.#remove(ep, "gone while the agent was down; cleaned");
          removed++;
          continue;
        }
        const ifindex = readIfindex(ep.hostIfname);
        this.#o.pods.attachEndpoint(ep.hostIfname);
        // Enforcement stays as the previous run left it until the policy is recomputed.
        const kernel = this.#o.maps.endpoints.current(endpointKeyOf(parseIp(ep.ips[0]!)));
        const state = { flags: kernel?.flags ?? 0, generation: kernel?.policy_generation ?? 0 };
        this.#policy.set(ep.id, state);
        for (const ip of ep.ips) {
          this.#o.maps.endpoints.set(endpointKeyOf(parseIp(ip)), info(ep, ifindex, state));
        }
        this.#o.state.endpoints.upsert(endpointKey(ep), record(ep));
        this.#publish(ep);
        restored++;
      }
      // Entries, attachments and veths of endpoints that have no file (an ADD the agent was
      // killed inside, which the runtime saw fail) go.
      const r = this.#o.maps.endpoints.sync();
      if (r.errors.length) this.#o.log.warn("endpoint map sync", { error: r.errors[0]!.message });
      const known = new Set([...this.list().map((e) => e.hostIfname), ...untouchable]);
      for (const ifname of this.#o.pods.endpointInterfaces()) {
        if (!known.has(ifname)) {
          this.#o.pods.detachEndpoint(ifname);
          await deleteLink(ifname).catch(() => false);
        }
      }
      for (const ifname of listIfnames()) {
        if (!ifname.startsWith(ENDPOINT_IFNAME_PREFIX) || known.has(ifname)) continue;
        if (await deleteLink(ifname).catch(() => false)) {
          this.#o.log.info("removed the veth of an unfinished ADD", { ifname });
        }
      }
      this.#syncIdentityRefs();
      return { restored, removed, rebuilt: rebuilt.length };
    });
  }

  /** Tells the store which identities this node's endpoints hold (reference counting). */
  #syncIdentityRefs(): void {
    this.#o.store.useIdentities(new Set(this.list().map((e) => e.identity)));
  }
}
