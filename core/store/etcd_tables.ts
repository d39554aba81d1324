// The cluster as the state tables see it: one watch on the cluster's keys, every record read
// and checked by its kind (etcd_kinds.ts) through the record reconciler (records/reconciler.ts).
// One watch delivers every key in revision order, so the keys of one transaction arrive
// together and a record is never judged against a half-written one; a rejected record is
// reported in the state's `rejected` table and never reaches a table, a map or a route.
import type { EtcdClient, Watch } from "../etcd/mod.ts";
import { clusterKinds, type ClusterKindsOptions } from "./etcd_kinds.ts";
import { RecordReconciler } from "./records/reconciler.ts";
import { Rejections } from "./records/rejections.ts";
import type { NodeRegistration } from "./store.ts";

/** How many watches mirrorCluster() starts (the store is synced when all have listed). */
export const MIRRORS = 1;

/** A node's registration as stored under nodes/<name>. */
export interface NodeValue extends NodeRegistration {
  podCIDRs: string[];
  registeredAt: string;
}

export interface ClusterMirrorOptions extends ClusterKindsOptions {
  client: EtcdClient;
  onSynced(): void;
  onPolicyRevision(revision: number): void;
}

export function mirrorCluster(o: ClusterMirrorOptions): Watch[] {
  const records = new RecordReconciler(
    clusterKinds(o),
    new Rejections(o.state.rejected, o.log),
    o.log,
  );
  return [o.client.listAndWatch(o.keys.base, {
    onSnapshot: (kvs, revision) => {
      records.replaceAll(kvs);
      o.onPolicyRevision(Number(revision));
      o.onSynced();
    },
    onEvents: (events) => {
      records.apply(events);
      // The policy revision is the last change to a policy (what the enforcer's computed
      // revision is compared with): other keys, e.g. this node's own endpoints, must not move it
      // past what the enforcer will ever be asked to compute.
      const policies = events.filter((e) => e.key.startsWith(o.keys.policies));
      if (policies.length) o.onPolicyRevision(Number(policies.at(-1)!.modRevision));
    },
  })];
}
