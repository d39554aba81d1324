// The FlowContext of a node: indexes over its state tables (endpoints by address, services by
// frontend, identity labels), kept current by subscriptions, so decoding a flow is a few map
// lookups however many pods and services the cluster has.
import { RESERVED_NAMES } from "./format.ts";
import type { StateView } from "../state/mod.ts";
import type { ServiceRef } from "./flow.ts";
import type { FlowContext, InterfaceKind, KnownEndpoint, RuleInfo } from "./decode.ts";

const PROTOCOL_NUMBERS: Record<string, number> = { TCP: 6, UDP: 17, SCTP: 132 };

export interface NodeFlowContextOptions {
  nodeName: string;
  cluster: string;
  state: StateView;
  bootToWallNs: bigint;
  /** The policy rule behind a rule id (the policy enforcer's). */
  rule?: (id: number) => RuleInfo | undefined;
  /** The CIDR behind a node-local CIDR identity. */
  identityCidr?: (id: number) => string | undefined;
  interfaceKind?: (ifindex: number) => InterfaceKind | undefined;
}

export class NodeFlowContext implements FlowContext, Disposable {
  readonly nodeName: string;
  readonly cluster: string;
  readonly bootToWallNs: bigint;
  readonly #o: NodeFlowContextOptions;
  readonly #byIp = new Map<string, KnownEndpoint>();
  readonly #services = new Map<string, ServiceRef>();
  readonly #labels = new Map<number, string[]>();
  readonly #unsubscribe: Array<() => void> = [];
  #servicesStale = true;
  #endpointsStale = true;
  #generation = 0;

  constructor(o: NodeFlowContextOptions) {
    this.#o = o;
    this.nodeName = o.nodeName;
    this.cluster = o.cluster;
    this.bootToWallNs = o.bootToWallNs;
    // Rebuilt lazily on the next lookup after a change: bursts of changes cost one rebuild.
    this.#unsubscribe.push(
      o.state.endpoints.subscribe(() => {
        this.#endpointsStale = true;
        this.#generation++;
      }),
      o.state.services.subscribe(() => this.#servicesStale = true),
      o.state.identities.subscribe(() => {
        this.#labels.clear();
        this.#generation++;
      }),
    );
  }

  get generation(): number {
    return this.#generation;
  }

  endpointByIp(ip: string): KnownEndpoint | undefined {
    if (this.#endpointsStale) this.#indexEndpoints();
    return this.#byIp.get(ip);
  }

  identityLabels(identity: number): string[] {
    let labels = this.#labels.get(identity);
    if (!labels) {
      labels = this.#labelsOf(identity);
      this.#labels.set(identity, labels);
    }
    return labels;
  }

  rule(id: number): RuleInfo | undefined {
    return this.#o.rule?.(id);
  }

  serviceAt(ip: string, port: number, protocol: number): ServiceRef | undefined {
    if (this.#servicesStale) this.#indexServices();
    return this.#services.get(`${ip}|${port}|${protocol}`) ??
      this.#services.get(`*|${port}|${protocol}`);
  }

  interfaceKind(ifindex: number): InterfaceKind | undefined {
    return this.#o.interfaceKind?.(ifindex);
  }

  #labelsOf(identity: number): string[] {
    const reserved = RESERVED_NAMES.get(identity);
    if (reserved) return [`reserved:${reserved}`];
    const record = this.#o.state.identities.get(String(identity));
    if (record) return Object.entries(record.labels).map(([k, v]) => `${k}=${v}`);
    const cidr = this.#o.identityCidr?.(identity);
    if (cidr) return [`cidr:${cidr}`, "reserved:world"];
    return [];
  }

  #indexEndpoints(): void {
    this.#byIp.clear();
    for (const ep of this.#o.state.endpoints.list()) {
      const known: KnownEndpoint = {
        id: ep.id,
        local: ep.node === this.nodeName,
        namespace: ep.namespace,
        pod: ep.pod,
        labels: ep.labels,
      };
      for (const ip of ep.ips) this.#byIp.set(ip, known);
    }
    this.#endpointsStale = false;
  }

  #indexServices(): void {
    this.#services.clear();
    for (const { service: s } of this.#o.state.services.list()) {
      const ref = { name: s.name, namespace: s.namespace };
      const addresses = [...s.clusterIPs, ...s.externalIPs, ...s.loadBalancerIPs];
      for (const p of s.ports) {
        const proto = PROTOCOL_NUMBERS[p.protocol];
        for (const ip of addresses) this.#services.set(`${ip}|${p.port}|${proto}`, ref);
        if (p.nodePort) this.#services.set(`*|${p.nodePort}|${proto}`, ref);
      }
    }
    this.#servicesStale = false;
  }

  [Symbol.dispose](): void {
    for (const u of this.#unsubscribe) u();
  }
}
