// kube-proxy's nftables design as the baseline: the `ip kube-proxy` table it writes for ClusterIP
// services, as one `nft -f` transaction that replaces any earlier copy of the table.
//
//   nat-prerouting, nat-output (priority -100, "dstnat") -> services:
//     ip daddr . meta l4proto . th dport vmap @service-ips   (one hash lookup, whatever the count)
//   service-<hash>-<ns>/<name>/<proto>/<port>: numgen random mod N vmap { i : goto endpoint-... }
//   endpoint-<hash>-...__<ip>/<port>: hairpin -> mark-for-masquerade, then dnat
//   nat-postrouting (priority 100, "srcnat") -> masquerading: masquerades marked packets
//
// Chain names follow kube-proxy's shape (an 8-character hash, then the readable name). Commands
// come in dependency order (chains before the rules and map elements that jump to them).
// Priorities are numbers: nft before 1.0.7 or so accepts "dstnat" on prerouting only.
// NodePorts are not modelled (a service with a nodePort is rejected).
import {
  type BaselineEndpoint,
  type BaselineService,
  checkCidr,
  checkServices,
  MASQ_MARK,
  nameHash,
  portName,
} from "./baseline_service.ts";

export interface NftOptions {
  /** Pod CIDR: with it, service traffic from outside the cluster is masqueraded. */
  clusterCIDR?: string;
}

export const NFT_TABLE = "ip kube-proxy";

function chainBase(s: BaselineService): string {
  return `${s.namespace}/${s.name}/${s.protocol.toLowerCase()}/${portName(s)}`;
}

export function nftServiceChainName(s: BaselineService): string {
  const base = chainBase(s);
  return `service-${nameHash(base, 8)}-${base}`;
}

export function nftEndpointChainName(s: BaselineService, e: BaselineEndpoint): string {
  const base = `${chainBase(s)}__${e.ip}/${e.port}`;
  return `endpoint-${nameHash(base, 8)}-${base}`;
}

/** `nft -f` text for the kube-proxy table holding `services`. */
export function nftRules(services: readonly BaselineService[], opts: NftOptions = {}): string {
  checkServices(services);
  if (opts.clusterCIDR !== undefined) checkCidr(opts.clusterCIDR);
  const withNodePort = services.find((s) => s.nodePort !== undefined);
  if (withNodePort) {
    throw new Error(
      `Service "${withNodePort.namespace}/${withNodePort.name}": NodePorts are not modelled in ` +
        "the nftables baseline (use the iptables one)",
    );
  }
  const t = NFT_TABLE;
  const out: string[] = [
    // "add" then "delete": removes an earlier copy, and does not fail when there is none.
    `add table ${t}`,
    `delete table ${t}`,
    `add table ${t} { comment "rules for kube-proxy" ; }`,
    `add chain ${t} mark-for-masquerade`,
    `add rule ${t} mark-for-masquerade meta mark set meta mark or ${MASQ_MARK}`,
    `add chain ${t} masquerading`,
    `add rule ${t} masquerading meta mark & ${MASQ_MARK} == 0 return`,
    `add rule ${t} masquerading meta mark set meta mark xor ${MASQ_MARK}`,
    `add rule ${t} masquerading masquerade fully-random`,
    `add map ${t} service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; ` +
    `comment "ClusterIP traffic" ; }`,
    `add chain ${t} services`,
    `add rule ${t} services ip daddr . meta l4proto . th dport vmap @service-ips`,
    `add chain ${t} nat-prerouting { type nat hook prerouting priority -100 ; }`,
    `add rule ${t} nat-prerouting jump services`,
    `add chain ${t} nat-output { type nat hook output priority -100 ; }`,
    `add rule ${t} nat-output jump services`,
    `add chain ${t} nat-postrouting { type nat hook postrouting priority 100 ; }`,
    `add rule ${t} nat-postrouting jump masquerading`,
  ];
  for (const s of services) {
    const proto = s.protocol.toLowerCase();
    const svc = nftServiceChainName(s);
    const eps = s.endpoints.map((e) => nftEndpointChainName(s, e));
    out.push(`add chain ${t} ${svc}`);
    for (const ep of eps) out.push(`add chain ${t} ${ep}`);
    s.endpoints.forEach((e, i) => {
      out.push(
        `add rule ${t} ${eps[i]} ip saddr ${e.ip} jump mark-for-masquerade`,
        `add rule ${t} ${eps[i]} meta l4proto ${proto} dnat to ${e.ip}:${e.port}`,
      );
    });
    if (opts.clusterCIDR !== undefined) {
      out.push(
        `add rule ${t} ${svc} ip daddr ${s.clusterIP} ${proto} dport ${s.port} ` +
          `ip saddr != ${opts.clusterCIDR} jump mark-for-masquerade`,
      );
    }
    const pick = eps.map((ep, i) => `${i} : goto ${ep}`).join(", ");
    out.push(`add rule ${t} ${svc} numgen random mod ${eps.length} vmap { ${pick} }`);
    out.push(
      `add element ${t} service-ips { ${s.clusterIP} . ${proto} . ${s.port} : goto ${svc} }`,
    );
  }
  out.push("");
  return out.join("\n");
}

/** `nft -f` text that removes the kube-proxy table, present or not. */
export function nftRemoveRules(): string {
  return `add table ${NFT_TABLE}\ndelete table ${NFT_TABLE}\n`;
}
