// What this node's load balancer serves, computed from the state tables: every frontend (a
// service address, port and protocol) with its backends, in the order they take slots. Pure:
// the same tables give the same frontends on every run, so a restarted agent writes nothing.
//
// Kubernetes semantics, as kube-proxy implements them:
// - Backends come from the EndpointSlices that name the service; a service with a selector and
//   no slices gets its backends from the cluster's endpoints that match the selector (what the
//   EndpointSlice controller would write).
// - Slots take the ready backends; when none is ready, the serving terminating ones. Every
//   backend of a slice stays known (its connections live on) even when it takes no slot.
// - Traffic policy Local: only this node's backends. External traffic to a Local frontend
//   without a local backend is dropped (the health check tells load balancers to stay away);
//   a service with no backend at all refuses connections.
import type { EndpointRecord } from "../../core/state/mod.ts";
import {
  backendsOf as sliceBackends,
  type EndpointSlice,
  type LbAlgorithm,
  objectKey,
  type Service,
  type ServicePort,
  type ServiceProtocol,
  slicesByService,
} from "../../core/service/mod.ts";
import { type IpFamily, parseIp } from "../../core/ipam/mod.ts";

export type FrontendKind = "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalIP" | "HostPort";

export interface BackendRef {
  /** Canonical address text. */
  ip: string;
  family: IpFamily;
  port: number;
  protocol: ServiceProtocol;
  /** Picked for new connections (ready, or serving-terminating when nothing is ready). */
  active: boolean;
  /** EndpointSlice conditions (selector-derived backends are ready and serving). */
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  /** A pod on this node. */
  local: boolean;
  node?: string;
  pod?: string;
}

export interface Frontend {
  /** Table key: `<ip>:<port>/<protocol>` (IPv6 in brackets). */
  key: string;
  ip: string;
  family: IpFamily;
  port: number;
  protocol: ServiceProtocol;
  kind: FrontendKind;
  /** `<namespace>/<name>` of the service, or `<namespace>/<pod>` for a HostPort. */
  service: string;
  portName: string;
  /** Balanced per packet where traffic arrives from the network. */
  external: boolean;
  /** Balanced at the socket (connect/sendmsg) for the node's processes and pods. */
  socket: boolean;
  trafficPolicy: "Cluster" | "Local";
  algorithm: LbAlgorithm;
  affinityTimeoutSeconds?: number;
  sourceRanges: string[];
  /** Every backend of the frontend's family, active ones first. */
  backends: BackendRef[];
  /** No active backend, but the service has some elsewhere (Local policy): drop, do not refuse. */
  dropWhenEmpty: boolean;
}

/** Something the load balancer could not serve as asked, with the object and the field. */
export interface LbProblem {
  object: string;
  path: string;
  message: string;
}

export interface FrontendInput {
  node: string;
  /** This node's addresses (NodePort and HostPort frontends), canonical. */
  nodeAddresses: string[];
  services: Service[];
  slices: EndpointSlice[];
  /** Every endpoint the node knows (selector services without slices). */
  endpoints: EndpointRecord[];
  defaultAlgorithm: LbAlgorithm;
}

export interface FrontendSet {
  frontends: Frontend[];
  problems: LbProblem[];
}

export function frontendKey(ip: string, port: number, protocol: string): string {
  return `${ip.includes(":") ? `[${ip}]` : ip}:${port}/${protocol}`;
}

function familyOf(ip: string): IpFamily {
  return ip.includes(":") ? 6 : 4;
}

function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** The backends of one service port, from its slices or (selector, no slices) its endpoints. */
function backendsOf(
  svc: Service,
  port: ServicePort,
  slices: EndpointSlice[],
  endpoints: EndpointRecord[],
  node: string,
  localIps: ReadonlySet<string>,
): BackendRef[] {
  const out: BackendRef[] = [];
  if (slices.length) {
    return sliceBackends(port, slices).map((b) => ({
      ip: b.address,
      family: familyOf(b.address),
      port: b.port,
      protocol: port.protocol,
      active: false,
      ready: b.ready,
      serving: b.serving,
      terminating: b.terminating,
      local: b.nodeName !== undefined ? b.nodeName === node : localIps.has(b.address),
      ...(b.nodeName !== undefined ? { node: b.nodeName } : {}),
      ...(b.pod !== undefined ? { pod: b.pod } : {}),
    }));
  }
  if (!svc.selector) return out;
  for (const ep of endpoints) {
    if (ep.namespace !== svc.namespace || !matches(svc.selector, ep.labels)) continue;
    let target: number | undefined;
    if (typeof port.targetPort === "number") target = port.targetPort;
    else {
      const named = ep.namedPorts?.[port.targetPort];
      if (named && named.protocol === port.protocol) target = named.port;
    }
    if (target === undefined) continue;
    for (const ip of ep.ips) {
      out.push({
        ip,
        family: familyOf(ip),
        port: target,
        protocol: port.protocol,
        active: false,
        ready: true,
        serving: true,
        terminating: false,
        local: ep.node === node,
        node: ep.node,
        pod: `${ep.namespace}/${ep.pod}`,
      });
    }
  }
  return out;
}

/** Marks the slot takers: ready backends, else serving terminating ones. Active first. */
function chooseActive(all: BackendRef[]): BackendRef[] {
  const ready = all.filter((b) => b.ready && !b.terminating);
  const pick = new Set(ready.length ? ready : all.filter((b) => b.serving && b.terminating));
  const out = all.map((b) => ({ ...b, active: pick.has(b) }));
  // deterministic slot order: by address and port
  const order = (a: BackendRef, b: BackendRef) =>
    Number(b.active) - Number(a.active) || a.ip.localeCompare(b.ip) || a.port - b.port;
  const seen = new Set<string>();
  return out.sort(order).filter((b) => {
    const id = `${b.ip}|${b.port}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

export function computeFrontends(input: FrontendInput): FrontendSet {
  const problems: LbProblem[] = [];
  const byKey = new Map<string, Frontend>();
  const localIps = new Set(
    input.endpoints.filter((e) => e.node === input.node).flatMap((e) => e.ips),
  );
  const slicesBySvc = slicesByService(input.slices);
  const services = [...input.services].sort((a, b) => objectKey(a).localeCompare(objectKey(b)));
  const known = new Set(services.map(objectKey));
  for (const s of input.slices) {
    if (!known.has(`${s.namespace}/${s.service}`)) {
      problems.push({
        object: `EndpointSlice ${objectKey(s)}`,
        path: `metadata.labels["kubernetes.io/service-name"]`,
        message: `service "${s.namespace}/${s.service}" does not exist`,
      });
    }
  }

  const add = (fe: Frontend, object: string, path: string) => {
    const other = byKey.get(fe.key);
    if (other) {
      problems.push({
        object,
        path,
        message: `${fe.key} is already served for ${other.kind} ${other.service}: ignored here`,
      });
      return;
    }
    byKey.set(fe.key, fe);
  };

  for (const svc of services) {
    if (svc.type === "ExternalName" || svc.headless) continue;
    const name = objectKey(svc);
    const object = `Service ${name}`;
    const slices = slicesBySvc.get(name) ?? [];
    const algorithm = svc.algorithm ?? input.defaultAlgorithm;
    for (const [i, port] of svc.ports.entries()) {
      const all = backendsOf(svc, port, slices, input.endpoints, input.node, localIps);
      const base = {
        port: port.port,
        protocol: port.protocol,
        service: name,
        portName: port.name,
        algorithm,
        ...(svc.affinityTimeoutSeconds !== undefined
          ? { affinityTimeoutSeconds: svc.affinityTimeoutSeconds }
          : {}),
      };
      const make = (
        ip: string,
        p: number,
        kind: FrontendKind,
        policy: "Cluster" | "Local",
        external: boolean,
        sourceRanges: string[],
      ): Frontend => {
        const family = familyOf(ip);
        const ofFamily = all.filter((b) => b.family === family);
        // Local: the fallback to terminating backends is decided among the local ones too
        const usable = chooseActive(
          policy === "Local" ? ofFamily.filter((b) => b.local) : ofFamily,
        );
        const anywhere = chooseActive(ofFamily).some((b) => b.active);
        return {
          ...base,
          key: frontendKey(ip, p, port.protocol),
          ip,
          family,
          port: p,
          kind,
          external,
          socket: sourceRanges.length === 0,
          trafficPolicy: policy,
          sourceRanges: sourceRanges.filter((r) => familyOf(r) === family),
          backends: usable,
          dropWhenEmpty: !usable.some((b) => b.active) && anywhere,
        };
      };
      for (const ip of svc.clusterIPs) {
        add(
          make(ip, port.port, "ClusterIP", svc.internalTrafficPolicy, false, []),
          object,
          `spec.clusterIPs`,
        );
      }
      if ((svc.type === "NodePort" || svc.type === "LoadBalancer") && port.nodePort) {
        const families = new Set(svc.clusterIPs.map(familyOf));
        for (const ip of input.nodeAddresses) {
          if (families.size && !families.has(familyOf(ip))) continue;
          add(
            make(ip, port.nodePort, "NodePort", svc.externalTrafficPolicy, true, []),
            object,
            `spec.ports[${i}].nodePort`,
          );
        }
      }
      if (svc.type === "LoadBalancer") {
        for (const ip of svc.loadBalancerIPs) {
          add(
            make(
              ip,
              port.port,
              "LoadBalancer",
              svc.externalTrafficPolicy,
              true,
              svc.loadBalancerSourceRanges,
            ),
            object,
            "status.loadBalancer.ingress",
          );
        }
      }
      for (const ip of svc.externalIPs) {
        add(
          make(ip, port.port, "ExternalIP", svc.externalTrafficPolicy, true, []),
          object,
          "spec.externalIPs",
        );
      }
    }
  }

  for (const ep of input.endpoints) {
    if (ep.node !== input.node || !ep.hostPorts?.length) continue;
    const pod = `${ep.namespace}/${ep.pod}`;
    for (const [i, m] of ep.hostPorts.entries()) {
      const targets = m.hostIP && m.hostIP !== "0.0.0.0" && m.hostIP !== "::"
        ? [canonical(m.hostIP)]
        : input.nodeAddresses;
      for (const ip of targets) {
        const family = familyOf(ip);
        const podIp = ep.ips.find((a) => familyOf(a) === family);
        if (!podIp) continue;
        const backend: BackendRef = {
          ip: podIp,
          family,
          port: m.containerPort,
          protocol: m.protocol,
          active: true,
          ready: true,
          serving: true,
          terminating: false,
          local: true,
          node: ep.node,
          pod,
        };
        add(
          {
            key: frontendKey(ip, m.hostPort, m.protocol),
            ip,
            family,
            port: m.hostPort,
            protocol: m.protocol,
            kind: "HostPort",
            service: pod,
            portName: "",
            external: true,
            socket: true,
            trafficPolicy: "Local",
            algorithm: "random",
            sourceRanges: [],
            backends: [backend],
            dropWhenEmpty: false,
          },
          `Pod ${pod}`,
          `portMappings[${i}].hostPort`,
        );
      }
    }
  }
  return {
    frontends: [...byKey.values()].sort((a, b) => a.key.localeCompare(b.key)),
    problems,
  };
}

function canonical(ip: string): string {
  return parseIp(ip).toString();
}
