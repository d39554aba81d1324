// Which EndpointSlices belong to a service, and the backends of one service port, as kube-proxy
// reads them: a slice belongs to the service its kubernetes.io/service-name label names, in its
// own namespace; a service port's backends are the endpoints of the slice port with the same
// name and protocol (the slice port carries the resolved target port number). FQDN slices give
// no backends. An address in two slices (possible while slices are being rewritten) counts once,
// with the most available conditions.
import type { EndpointSlice, Service, ServicePort } from "./model.ts";

export interface Backend {
  address: string;
  /** The target port on the backend. */
  port: number;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  nodeName?: string;
  zone?: string;
  /** namespace/name of the backing pod, when the slice says. */
  pod?: string;
}

/** Table key of the service a slice belongs to: `<namespace>/<service>`. */
export function sliceServiceKey(slice: EndpointSlice): string {
  return `${slice.namespace}/${slice.service}`;
}

/** The slices of one service, by slice name. */
export function slicesOfService(
  slices: Iterable<EndpointSlice>,
  service: Pick<Service, "namespace" | "name">,
): EndpointSlice[] {
  const out: EndpointSlice[] = [];
  for (const s of slices) {
    if (s.namespace === service.namespace && s.service === service.name) out.push(s);
  }
  return out.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** Every slice grouped by sliceServiceKey() (services need not exist), for a whole-table pass. */
export function slicesByService(slices: Iterable<EndpointSlice>): Map<string, EndpointSlice[]> {
  const out = new Map<string, EndpointSlice[]>();
  for (const s of slices) {
    const key = sliceServiceKey(s);
    const list = out.get(key);
    if (list) list.push(s);
    else out.set(key, [s]);
  }
  for (const list of out.values()) list.sort((a, b) => a.name < b.name ? -1 : 1);
  return out;
}

/** The backends of one service port in the service's slices, by address then port. */
export function backendsOf(
  port: Pick<ServicePort, "name" | "protocol">,
  slices: Iterable<EndpointSlice>,
): Backend[] {
  const byId = new Map<string, Backend>();
  const rank = (b: Backend) => Number(b.ready) * 4 + Number(b.serving) * 2 + Number(!b.terminating);
  for (const s of slices) {
    if (s.addressType === "FQDN") continue;
    const sp = s.ports.find((p) => p.name === port.name && p.protocol === port.protocol);
    if (sp?.port === undefined) continue;
    for (const e of s.endpoints) {
      for (const address of e.addresses) {
        const b: Backend = {
          address,
          port: sp.port,
          ready: e.ready,
          serving: e.serving,
          terminating: e.terminating,
          ...(e.nodeName ? { nodeName: e.nodeName } : {}),
          ...(e.zone ? { zone: e.zone } : {}),
          ...(e.pod ? { pod: e.pod } : {}),
        };
        const id = `${address}/${sp.port}`;
        const cur = byId.get(id);
        if (!cur || rank(b) > rank(cur)) byId.set(id, b);
      }
    }
  }
  return [...byId.values()].sort((a, b) =>
    a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port
  );
}
