// kube-proxy's iptables design as the baseline: the nat table it writes for ClusterIP services,
// as iptables-restore text (loaded without --noflush: the text replaces the whole nat table of
// the namespace it is restored into).
//
//   PREROUTING, OUTPUT -> KUBE-SERVICES: one rule per service port, evaluated in order (so the
//     last service costs a walk over all the others; the bench probes first, middle and last)
//   KUBE-SVC-<hash>: endpoint i of n taken with probability 1/(n-i), the last unconditionally
//   KUBE-SEP-<hash>: hairpin (the endpoint reaching itself) -> KUBE-MARK-MASQ, then DNAT
//   POSTROUTING -> KUBE-POSTROUTING: masquerades what KUBE-MARK-MASQ marked
//
// NodePorts (services with `nodePort`), as kube-proxy writes them for externalTrafficPolicy
// Cluster and every local address (--nodeport-addresses unset):
//   KUBE-SERVICES, last rule: -m addrtype --dst-type LOCAL -> KUBE-NODEPORTS (so a NodePort
//     packet first walks every ClusterIP rule)
//   KUBE-NODEPORTS: one rule per node port -> KUBE-EXT-<hash>
//   KUBE-EXT-<hash>: KUBE-MARK-MASQ (external traffic is masqueraded), then KUBE-SVC-<hash>
// The NodePort rules are written only when some service has a node port (kube-proxy always
// writes the KUBE-NODEPORTS jump; ClusterIP traffic never reaches it).
//
// Chain names hash the service port name and protocol (and the endpoint), as kube-proxy does, so
// they are stable across runs. Like kube-proxy, comments on the per-endpoint rules are left out
// above 1,000 endpoints in total. The filter table is not part of this baseline.
import {
  type BaselineEndpoint,
  type BaselineService,
  checkCidr,
  checkServices,
  MASQ_MARK,
  nameHash,
  servicePortName,
} from "./baseline_service.ts";

export interface IptablesOptions {
  /** Pod CIDR: with it, service traffic from outside the cluster is masqueraded (kube-proxy's
   * --cluster-cidr); without it that rule is left out, as kube-proxy does. */
  clusterCIDR?: string;
}

/** kube-proxy drops per-endpoint comments above this many endpoints ("large cluster mode"). */
export const LARGE_CLUSTER_ENDPOINTS = 1000;

const BUILTIN = ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"] as const;

/** "KUBE-SVC-" and 16 base32 characters. */
export function svcChainName(s: BaselineService): string {
  return `KUBE-SVC-${nameHash(servicePortName(s) + s.protocol.toLowerCase(), 16)}`;
}

/** "KUBE-EXT-" and the hash of svcChainName(): the NodePort entry of the service. */
export function extChainName(s: BaselineService): string {
  return `KUBE-EXT-${nameHash(servicePortName(s) + s.protocol.toLowerCase(), 16)}`;
}

/** "KUBE-SEP-" and 16 base32 characters. */
export function sepChainName(s: BaselineService, e: BaselineEndpoint): string {
  const input = servicePortName(s) + s.protocol.toLowerCase() + `${e.ip}:${e.port}`;
  return `KUBE-SEP-${nameHash(input, 16)}`;
}

/** Probability of endpoint `i` of `n` given that none before it was taken, as kube-proxy prints it. */
export function endpointProbability(i: number, n: number): string {
  return (1 / (n - i)).toFixed(10);
}

const comment = (text: string) => `-m comment --comment "${text}"`;

/** iptables-restore text for the nat table with `services` in KUBE-SERVICES in the given order. */
export function iptablesRules(
  services: readonly BaselineService[],
  opts: IptablesOptions = {},
): string {
  checkServices(services);
  if (opts.clusterCIDR !== undefined) checkCidr(opts.clusterCIDR);
  const large = services.reduce((n, s) => n + s.endpoints.length, 0) > LARGE_CLUSTER_ENDPOINTS;
  const chains: string[] = ["KUBE-SERVICES", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"];
  const rules: string[] = [
    `-A PREROUTING ${comment("kubernetes service portals")} -j KUBE-SERVICES`,
    `-A OUTPUT ${comment("kubernetes service portals")} -j KUBE-SERVICES`,
    `-A POSTROUTING ${comment("kubernetes postrouting rules")} -j KUBE-POSTROUTING`,
    `-A KUBE-MARK-MASQ -j MARK --set-xmark ${MASQ_MARK}/${MASQ_MARK}`,
    `-A KUBE-POSTROUTING -m mark ! --mark ${MASQ_MARK}/${MASQ_MARK} -j RETURN`,
    `-A KUBE-POSTROUTING -j MARK --set-xmark ${MASQ_MARK}/0x0`,
    `-A KUBE-POSTROUTING ${
      comment("kubernetes service traffic requiring SNAT")
    } -j MASQUERADE --random-fully`,
  ];
  const svcRules: string[] = [];
  const nodePortRules: string[] = [];
  const endpointRules: string[] = [];
  for (const s of services) {
    const name = servicePortName(s);
    const proto = s.protocol.toLowerCase();
    const svc = svcChainName(s);
    const frontend = `-d ${s.clusterIP}/32 -p ${proto} ${comment(`${name} cluster IP`)} ` +
      `-m ${proto} --dport ${s.port}`;
    chains.push(svc);
    svcRules.push(`-A KUBE-SERVICES ${frontend} -j ${svc}`);
    if (s.nodePort !== undefined) {
      const ext = extChainName(s);
      chains.push(ext);
      nodePortRules.push(
        `-A KUBE-NODEPORTS -p ${proto} ${
          comment(name)
        } -m ${proto} --dport ${s.nodePort} -j ${ext}`,
      );
      endpointRules.push(
        `-A ${ext} ${comment(`masquerade traffic for ${name} external destinations`)} ` +
          "-j KUBE-MARK-MASQ",
        `-A ${ext} -j ${svc}`,
      );
    }
    if (opts.clusterCIDR !== undefined) {
      endpointRules.push(`-A ${svc} ! -s ${opts.clusterCIDR} ${frontend} -j KUBE-MARK-MASQ`);
    }
    const seps = s.endpoints.map((e) => sepChainName(s, e));
    chains.push(...seps);
    s.endpoints.forEach((e, i) => {
      const target = `${e.ip}:${e.port}`;
      const pick = i < s.endpoints.length - 1
        ? ` -m statistic --mode random --probability ${endpointProbability(i, s.endpoints.length)}`
        : "";
      const why = large ? "" : ` ${comment(`${name} -> ${target}`)}`;
      endpointRules.push(`-A ${svc}${why}${pick} -j ${seps[i]}`);
    });
    s.endpoints.forEach((e, i) => {
      const why = large ? "" : ` ${comment(name)}`;
      endpointRules.push(
        `-A ${seps[i]} -s ${e.ip}/32${why} -j KUBE-MARK-MASQ`,
        `-A ${seps[i]} -p ${proto}${why} -m ${proto} -j DNAT --to-destination ${e.ip}:${e.port}`,
      );
    });
  }
  if (nodePortRules.length) {
    chains.splice(1, 0, "KUBE-NODEPORTS");
    svcRules.push(
      `-A KUBE-SERVICES ${
        comment("kubernetes service nodeports; NOTE: this must be the last rule in this chain")
      } -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS`,
    );
  }
  return [
    "*nat",
    ...BUILTIN.map((c) => `:${c} ACCEPT [0:0]`),
    ...chains.map((c) => `:${c} - [0:0]`),
    ...rules,
    ...svcRules,
    ...nodePortRules,
    ...endpointRules,
    "COMMIT",
    "",
  ].join("\n");
}

/** iptables-restore text that empties the nat table (built-in chains flushed, others deleted). */
export function iptablesEmptyNat(): string {
  return ["*nat", ...BUILTIN.map((c) => `:${c} ACCEPT [0:0]`), "COMMIT", ""].join("\n");
}
