// core/store: the cluster store behind one interface (local manifests, or etcd).
import type { HyphaConfig } from "../config/schema.ts";
import type { Logger } from "../plugin/plugin.ts";
import type { State } from "../state/mod.ts";
import { serviceOptions } from "../service/options.ts";
import { LocalStore } from "./local_store.ts";
import type { ClusterStore } from "./store.ts";
import type { PodPools } from "./records/checks.ts";

export {
  type ClusterStore,
  NodeConflictError,
  type NodeRegistration,
  type PodCidrRequest,
  type PodLabels,
  type StoreStatus,
} from "./store.ts";
export { LocalStore } from "./local_store.ts";

export interface StoreOptions {
  config: HyphaConfig;
  state: State;
  stateDir: string;
  log: Logger;
}

export async function createStore(o: StoreOptions): Promise<ClusterStore> {
  const { store, node } = o.config;
  if (store.kind === "etcd") {
    const { EtcdStore } = await import("./etcd_store.ts");
    const { loadEtcdCredentials } = await import("../etcd/mod.ts");
    const credentials = await loadEtcdCredentials(store.etcd, "store.etcd");
    for (const warning of credentials.warnings) o.log.warn(warning);
    const etcd = new EtcdStore({
      endpoints: store.etcd.endpoints,
      prefix: store.etcd.prefix,
      leaseTTL: store.etcd.leaseTTL,
      timeoutMs: store.etcd.timeoutMs,
      node: node.name,
      cluster: node.cluster,
      state: o.state,
      stateDir: o.stateDir,
      log: o.log,
      services: serviceOptions(o.config.services),
      ...(credentials.tls ? { tls: credentials.tls } : {}),
      ...(credentials.auth ? { auth: credentials.auth } : {}),
      watchLivenessMs: store.etcd.watchLiveness * 1000,
      pools: podPools(o.config),
    });
    etcd.startIdentityGc(store.etcd.identityGC);
    return etcd;
  }
  return new LocalStore({
    state: o.state,
    stateDir: o.stateDir,
    manifests: store.manifests,
    node: node.name,
    cluster: node.cluster,
    log: o.log,
    services: serviceOptions(o.config.services),
    pools: podPools(o.config),
  });
}

/** The pod pools other nodes' pod CIDRs are checked against. */
function podPools(config: HyphaConfig): PodPools {
  return { v4: config.networking.ipv4.pool, v6: config.networking.ipv6.pool };
}
