// The layout of hypha's keys in etcd, under `<prefix>/<cluster>/`:
//   nodes/<name>                 node registration (JSON), attached to the node's lease
//   podcidrs/<cidr>              the node that holds a pod CIDR ("/" of the CIDR as "_")
//   endpoints/<node>/<id>        an endpoint (JSON), attached to its node's lease
//   identities/labels/<sha256>   label set -> numeric identity
//   identities/id/<n>            numeric identity -> label set (JSON)
//   identities/refs/<n>/<node>   node <node> has endpoints of identity <n> (under its lease)
//   pods/<namespace>/<name>      a pod's labels and named ports (JSON: {labels, namedPorts?,
//                                serviceAccount?}), optional: what the Kubernetes API would say
//   namespaces/<name>            a namespace's labels (JSON: {labels}), optional
//   policies/<kind>/<ns>/<name>  a policy manifest (JSON), validated when applied
//   services/<ns>/<name>         a Service manifest (JSON), validated when applied, with its
//                                cluster IPs and node ports written in
//   endpointslices/<ns>/<name>   an EndpointSlice manifest (JSON)
//   serviceips/<ip>              the service (<ns>/<name>) that holds a cluster IP
//   nodeports/<proto>/<port>     the service that holds a node port (health check ports: TCP)
// A service and its claims (serviceips, nodeports) are written in one transaction that creates
// each new claim only if it does not exist, so no two services ever hold one value.
import type { ServiceClaim } from "../service/claims.ts";

export class EtcdKeys {
  readonly base: string;

  constructor(prefix: string, cluster: string) {
    this.base = `${prefix.replace(/\/+$/, "")}/${cluster}/`;
  }

  get nodes(): string {
    return `${this.base}nodes/`;
  }
  node(name: string): string {
    return `${this.nodes}${name}`;
  }
  get podCidrs(): string {
    return `${this.base}podcidrs/`;
  }
  podCidr(cidr: string): string {
    return `${this.podCidrs}${cidr.replace("/", "_")}`;
  }
  cidrOf(key: string): string {
    return key.slice(this.podCidrs.length).replace("_", "/");
  }
  get endpoints(): string {
    return `${this.base}endpoints/`;
  }
  endpoint(node: string, id: number): string {
    return `${this.endpoints}${node}/${id}`;
  }
  get identityLabels(): string {
    return `${this.base}identities/labels/`;
  }
  get identityIds(): string {
    return `${this.base}identities/id/`;
  }
  get identityRefs(): string {
    return `${this.base}identities/refs/`;
  }
  identityRef(id: number, node: string): string {
    return `${this.identityRefs}${id}/${node}`;
  }
  get pods(): string {
    return `${this.base}pods/`;
  }
  pod(namespace: string, name: string): string {
    return `${this.pods}${namespace}/${name}`;
  }
  get namespaces(): string {
    return `${this.base}namespaces/`;
  }
  namespace(name: string): string {
    return `${this.namespaces}${name}`;
  }
  get policies(): string {
    return `${this.base}policies/`;
  }
  get services(): string {
    return `${this.base}services/`;
  }
  service(key: string): string {
    return `${this.services}${key}`;
  }
  get endpointSlices(): string {
    return `${this.base}endpointslices/`;
  }
  endpointSlice(key: string): string {
    return `${this.endpointSlices}${key}`;
  }
  /** The key of a claim: serviceips/<ip> or nodeports/<proto>/<port>. */
  serviceClaim(c: ServiceClaim): string {
    return c.kind === "clusterIP"
      ? `${this.base}serviceips/${c.ip}`
      : `${this.base}nodeports/${c.protocol}/${c.port}`;
  }
}
