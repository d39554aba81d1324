// The cluster as the state tables see it: every etcd prefix the agent follows, mirrored into
// its table (other nodes, their endpoints, pods and namespaces, identities, policies, services
// and endpoint slices).
import type { EtcdClient, Watch } from "../etcd/mod.ts";
import { labelsKey } from "../identity/labels.ts";
import type { Logger } from "../plugin/plugin.ts";
import type {
  EndpointRecord,
  IdentityRecord,
  NamespaceMeta,
  NodeInfo,
  PodMeta,
  PolicyRecord,
  State,
} from "../state/mod.ts";
import type { ServiceOptions } from "../service/options.ts";
import type { EtcdIdentities } from "./etcd_identities.ts";
import type { EtcdKeys } from "./etcd_keys.ts";
import { type Mirror, mirrorPrefix } from "./etcd_mirror.ts";
import { mirrorServiceObjects } from "./etcd_services.ts";
import type { NodeRegistration } from "./store.ts";

/** How many prefixes mirrorCluster() follows (the store is synced when all have listed). */
export const MIRRORS = 8;

/** A node's registration as stored under nodes/<name>. */
export interface NodeValue extends NodeRegistration {
  podCIDRs: string[];
  registeredAt: string;
}

export interface ClusterMirrorOptions {
  client: EtcdClient;
  keys: EtcdKeys;
  state: State;
  /** This node: its own rows are not mirrored (they are "self" / the endpoint manager's). */
  node: string;
  log: Logger;
  onSynced(): void;
  identities: EtcdIdentities;
  onPolicyRevision(revision: number): void;
  /** Ranges services are checked against (the node's `services` config). */
  services: ServiceOptions;
}

export function mirrorCluster(o: ClusterMirrorOptions): Watch[] {
  const { client, keys, state, node, log, onSynced, identities, onPolicyRevision } = o;
  const after = (prefix: string) => (key: string) => key.slice(prefix.length);
  const json = (v: string) => JSON.parse(v);
  const watches: Watch[] = [];
  const watch = <T>(m: Mirror<T>) => watches.push(mirrorPrefix(client, m, log, onSynced));
  watch<NodeInfo>({
    prefix: keys.nodes,
    table: state.nodes,
    rowKey: (k) => {
      const name = after(keys.nodes)(k);
      return name === node ? undefined : name; // this agent's own row is "self"
    },
    decode: (k, v) => {
      const n = json(v) as NodeValue;
      return {
        name: after(keys.nodes)(k),
        cluster: n.cluster,
        addresses: n.addresses,
        podCIDRs: n.podCIDRs,
        source: "etcd",
      };
    },
    owns: (_k, row) => row.source === "etcd",
    onChange: (kind, name, row) =>
      log.info(kind === "added" ? "node joined" : "node left", {
        node: name,
        podCIDRs: row.podCIDRs.join(","),
      }),
  });
  watch<EndpointRecord>({
    prefix: keys.endpoints,
    table: state.endpoints,
    rowKey: (k) => {
      const [n, id] = after(keys.endpoints)(k).split("/");
      return !n || !id || n === node ? undefined : `${n}/${id}`; // local ones are the manager's
    },
    decode: (_k, v) => json(v) as EndpointRecord,
    owns: (_k, row) => row.node !== node,
  });
  watch<PodMeta>({
    prefix: keys.pods,
    table: state.pods,
    rowKey: after(keys.pods),
    decode: (k, v) => {
      const [namespace, name] = after(keys.pods)(k).split("/");
      const p = json(v) as Partial<PodMeta>;
      return {
        namespace: namespace!,
        name: name!,
        labels: p.labels ?? {},
        namedPorts: p.namedPorts ?? {},
        ...(p.serviceAccount ? { serviceAccount: p.serviceAccount } : {}),
      };
    },
    owns: () => true,
  });
  watch<NamespaceMeta>({
    prefix: keys.namespaces,
    table: state.namespaces,
    rowKey: after(keys.namespaces),
    decode: (k, v) => ({ name: after(keys.namespaces)(k), labels: json(v).labels ?? {} }),
    owns: () => true,
  });
  watch<IdentityRecord>({
    prefix: keys.identityIds,
    table: state.identities,
    rowKey: after(keys.identityIds),
    decode: (k, v) => {
      const id = Number(after(keys.identityIds)(k));
      const labels = json(v) as Record<string, string>;
      identities.cache.set(labelsKey(labels), id);
      return { id, labels };
    },
    owns: () => true,
    onChange: (kind, _k, row) => {
      if (kind === "removed") identities.cache.delete(labelsKey(row.labels));
    },
  });
  watch<PolicyRecord>({
    prefix: keys.policies,
    table: state.policies,
    rowKey: after(keys.policies),
    decode: (k, v, revision) => ({
      key: after(keys.policies)(k),
      manifest: json(v),
      revision: Number(revision),
    }),
    owns: () => true,
    onRevision: (r) => onPolicyRevision(Number(r)),
  });
  watches.push(
    ...mirrorServiceObjects({ client, keys, state, options: o.services, log, onSynced }),
  );
  return watches;
}
