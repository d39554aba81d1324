// The service model: Kubernetes `v1` Service and `discovery.k8s.io/v1` EndpointSlice manifests,
// validated and normalised. Every source (the manifest directory, the admin API, etcd) parses
// into these shapes with core/service/parse_*.ts, so the load balancer (plugins/lb) never sees a
// manifest. Defaults are explicit: protocols, traffic policies, affinity timeouts and ports.
// Addresses are canonical text (parseIp(...).toString()), IPv4 first where both families occur.

export const SERVICE_PROTOCOLS = ["TCP", "UDP", "SCTP"] as const;
export type ServiceProtocol = typeof SERVICE_PROTOCOLS[number];

export const SERVICE_TYPES = ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"] as const;
export type ServiceType = typeof SERVICE_TYPES[number];

export type TrafficPolicy = "Cluster" | "Local";
export type LbAlgorithm = "random" | "maglev";

/** The per-service algorithm annotation (Cilium's name and values). */
export const LB_ALGORITHM_ANNOTATION = "service.cilium.io/lb-algorithm";
/** EndpointSlices name their service with this label. */
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
/** Default ClientIP affinity timeout (Kubernetes: 3 hours). */
export const DEFAULT_AFFINITY_TIMEOUT_S = 10800;

export interface ServicePort {
  /** "" only when the service has one port. */
  name: string;
  protocol: ServiceProtocol;
  port: number;
  /** A number, or the name of a container port (resolved per backend). Defaults to `port`. */
  targetPort: number | string;
  /** NodePort and LoadBalancer services: allocated when the manifest leaves it out. */
  nodePort?: number;
}

export interface Service {
  namespace: string;
  name: string;
  type: ServiceType;
  /** Virtual IPs (spec.clusterIPs, else spec.clusterIP); empty for headless and ExternalName. */
  clusterIPs: string[];
  /** spec.clusterIP "None": no virtual IP, nothing to balance. */
  headless: boolean;
  /** spec.selector; undefined for services whose EndpointSlices are written by hand. */
  selector?: Record<string, string>;
  ports: ServicePort[];
  externalIPs: string[];
  /** status.loadBalancer.ingress[].ip, then spec.loadBalancerIP (deduplicated). */
  loadBalancerIPs: string[];
  /** CIDRs, canonical. Empty: every source may reach the LoadBalancer IPs. */
  loadBalancerSourceRanges: string[];
  externalTrafficPolicy: TrafficPolicy;
  internalTrafficPolicy: TrafficPolicy;
  /** LoadBalancer/NodePort with externalTrafficPolicy Local: the health check node port. */
  healthCheckNodePort?: number;
  /** sessionAffinity ClientIP; undefined for None. */
  affinityTimeoutSeconds?: number;
  /** From the annotation; undefined: the node's default. */
  algorithm?: LbAlgorithm;
  annotations: Record<string, string>;
}

export type AddressType = "IPv4" | "IPv6" | "FQDN";

export interface SlicePort {
  /** "" when unnamed (matches the service's unnamed port). */
  name: string;
  protocol: ServiceProtocol;
  /** undefined: the port is not known (Kubernetes allows it; such ports get no backends). */
  port?: number;
}

export interface SliceEndpoint {
  addresses: string[];
  /** conditions.ready (nil = true), serving (nil = ready), terminating (nil = false). */
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  nodeName?: string;
  zone?: string;
  /** targetRef of kind Pod, as namespace/name. */
  pod?: string;
}

export interface EndpointSlice {
  namespace: string;
  name: string;
  /** The service it belongs to (label kubernetes.io/service-name), in the slice's namespace. */
  service: string;
  addressType: AddressType;
  ports: SlicePort[];
  endpoints: SliceEndpoint[];
}

/** A problem with a manifest: the field path (from the document root) and the reason. */
export interface ServiceIssue {
  path: string;
  message: string;
}

/** A source's view of one object: parsed, or rejected with every problem. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; issues: ServiceIssue[] };

/** Table key of a Service or EndpointSlice: `<namespace>/<name>`. */
export function objectKey(o: { namespace: string; name: string }): string {
  return `${o.namespace}/${o.name}`;
}
