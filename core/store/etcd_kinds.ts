// The record kinds under a cluster's etcd keys, in check order (a kind before the kinds that
// depend on it), for the record reconciler (records/reconciler.ts). What each record must be:
//   podcidrs/<cidr>         a canonical CIDR held by a valid node name
//   nodes/<name>            its name; an IPv4 underlay address first, none inside a pod pool or
//                           this node's; pod CIDRs claimed by it (podcidrs/), inside this node's
//                           pools, clear of this node's CIDRs and of older overlapping claims
//   endpoints/<node>/<id>   its node and id; a known node; addresses inside that node's pod
//                           CIDRs; an identity in the cluster range
//   identities/labels/<sha> an identity number in the cluster range
//   identities/id/<n>       n in the cluster range; its labels indexed under n
//   pods/, namespaces/      Kubernetes names and labels
//   policies/<key>          a manifest naming its key, that parses
//   services/, endpointslices/  manifests naming their key, that parse (core/service)
// Every record is bounded in size. This node's own node record and endpoints are not read back.
import { labelsKey } from "../identity/labels.ts";
import { tryParseCidr } from "../ipam/mod.ts";
import type { Logger } from "../plugin/plugin.ts";
import { parseManifest } from "../policy/parse/mod.ts";
import {
  objectKey,
  type Parsed,
  parseEndpointSlice,
  parseService,
  type ServiceOptions,
} from "../service/mod.ts";
import type {
  EndpointRecord,
  EndpointSliceRecord,
  IdentityRecord,
  NamespaceMeta,
  NodeInfo,
  PodMeta,
  PolicyRecord,
  ServiceRecord,
  State,
} from "../state/mod.ts";
import { Table } from "../state/mod.ts";
import type { EtcdIdentities } from "./etcd_identities.ts";
import type { EtcdKeys } from "./etcd_keys.ts";
import {
  type Claim,
  ClaimIndex,
  claimIssues,
  endpointIssues,
  identityIssues,
  labelsDigest,
  nodeContext,
  nodeIssues,
  type PodPools,
  policyKeyIssues,
} from "./records/checks.ts";
import { keyIssue, splitKey } from "./records/keys.ts";
import type { KindSpec } from "./records/reconciler.ts";
import {
  checkRecord,
  CLUSTER_IDENTITIES,
  endpointRecord,
  identityLabelMap,
  LIMITS,
  namespaceRecord,
  nodeName,
  nodeRecord,
  podRecord,
  type Read,
  readJson,
  readRecord,
} from "./records/shapes.ts";
import type { z } from "zod";

export interface ClusterKindsOptions {
  keys: EtcdKeys;
  state: State;
  /** This node: its own node record and endpoints are not read back. */
  node: string;
  cluster: string;
  /** This node's pod pools: other nodes' pod CIDRs must be inside them. */
  pools: PodPools;
  log: Logger;
  identities: Pick<EtcdIdentities, "cache">;
  /** Ranges services are checked against (the node's `services` config). */
  services: ServiceOptions;
}

type NodeShape = z.output<typeof nodeRecord>;
type EndpointShape = z.output<typeof endpointRecord>;

/** The record kinds under the cluster's keys, in check order. */
export function clusterKinds(o: ClusterKindsOptions): KindSpec[] {
  const { keys, state, node: self, log } = o;
  const claims = new Table<Claim>("claims");
  const index = new Table<string>("identityLabels");
  let claimIndex: ClaimIndex | undefined;
  const context = () => nodeContext(o.pools, state.nodes.get(self), self);
  const withKey = <T>(issue: ReturnType<typeof keyIssue>, read: Read<T>): Read<T> =>
    !issue ? read : { ok: false, issues: [issue, ...(read.ok ? [] : read.issues)] };
  const one = (suffix: string) => ({ namespace: "", name: suffix.slice(0, 256) });

  const claimSpec: KindSpec<Claim, Claim> = {
    kind: "PodCIDRClaim",
    prefix: keys.podCidrs,
    table: claims,
    rowKey: (s) => s,
    name: one,
    read: (s, value) => {
      const text = s.replace("_", "/");
      const cidr = tryParseCidr(text, { strict: true });
      const held = checkRecord(value, nodeName);
      const issues = [
        ...(!cidr || cidr.toString() !== text
          ? [{ path: "", message: `Key ${JSON.stringify(s)} does not name a canonical CIDR` }]
          : []),
        ...(held.ok ? [] : held.issues),
      ];
      return issues.length || !cidr || !held.ok
        ? { ok: false, issues }
        : { ok: true, value: { cidr, node: held.value, revision: 0 } };
    },
    row: (_s, c, revision) => ({ ...c, revision: Number(revision) }),
    owns: () => true,
    affects: () => {
      claimIndex = undefined;
      return [{ kind: "Node", all: true }];
    },
  };

  const nodeSpec: KindSpec<NodeShape, NodeInfo> = {
    kind: "Node",
    prefix: keys.nodes,
    table: state.nodes,
    rowKey: (s) => (s === self ? undefined : s), // this agent's own row is "self"
    name: one,
    read: (s, value) => withKey(keyIssue(s, ["node"]), readRecord(value, nodeRecord)),
    check: (s, n) => {
      const ctx = context();
      claimIndex ??= new ClaimIndex(claims.list(), ctx);
      const issues = nodeIssues(s, n, ctx);
      if (n.cluster !== o.cluster) {
        issues.push({
          path: "cluster",
          message: `Cluster ${JSON.stringify(n.cluster)} is not this cluster (${
            JSON.stringify(o.cluster)
          })`,
        });
      }
      return [...issues, ...claimIssues(s, n.podCIDRs, claimIndex)];
    },
    row: (s, n) => ({
      name: s,
      cluster: n.cluster,
      addresses: n.addresses,
      podCIDRs: n.podCIDRs,
      source: "etcd",
    }),
    owns: (row) => row.source === "etcd",
    affects: (name) => [{ kind: "Endpoint", group: name }],
    onChange: (name, row, previous) => {
      if (!previous && row) {
        log.info("node joined", { node: name, podCIDRs: row.podCIDRs.join(",") });
      }
      if (previous && !row) {
        log.info("node left", { node: name, podCIDRs: previous.podCIDRs.join(",") });
      }
    },
  };

  const endpointSpec: KindSpec<EndpointShape, EndpointRecord> = {
    kind: "Endpoint",
    prefix: keys.endpoints,
    table: state.endpoints,
    rowKey: (s) => (s.split("/")[0] === self ? undefined : s), // local ones are the manager's
    name: one,
    group: (s) => s.split("/")[0],
    read: (s, value) =>
      withKey(keyIssue(s, ["node", "endpoint id"]), readRecord(value, endpointRecord)),
    check: (s, ep) => {
      const [n = "", id = ""] = splitKey(s);
      return endpointIssues({ node: n, id: Number(id) }, ep, state.nodes.get(n));
    },
    // the shape keeps only EndpointRecord's fields, and leaves absent optional ones absent
    row: (_s, ep) => ep as EndpointRecord,
    owns: (row) => row.node !== self,
  };

  const indexSpec: KindSpec<string, string> = {
    kind: "IdentityLabels",
    prefix: keys.identityLabels,
    table: index,
    rowKey: (s) => s,
    name: one,
    read: (s, value) => {
      const issues = [];
      if (!/^[0-9a-f]{64}$/.test(s)) {
        issues.push({
          path: "",
          message: `Key ${JSON.stringify(s.slice(0, 80))} is no sha256 digest`,
        });
      }
      const n = /^[1-9][0-9]{0,8}$/.test(value) ? Number(value) : NaN;
      if (!(n >= CLUSTER_IDENTITIES.min && n <= CLUSTER_IDENTITIES.max)) {
        issues.push({
          path: "",
          message:
            `Must be an identity number ${CLUSTER_IDENTITIES.min}-${CLUSTER_IDENTITIES.max}, ` +
            `got ${JSON.stringify(value.slice(0, 60))}`,
        });
      }
      return issues.length ? { ok: false, issues } : { ok: true, value };
    },
    row: (_s, value) => value,
    owns: () => true,
    affects: (digest) => [{ kind: "Identity", group: digest }],
  };

  const identitySpec: KindSpec<Record<string, string>, IdentityRecord> = {
    kind: "Identity",
    prefix: keys.identityIds,
    table: state.identities,
    rowKey: (s) => s,
    name: one,
    group: (_s, read) => (read.ok ? labelsDigest(read.value) : undefined),
    read: (s, value) => withKey(identityKeyIssue(s), readRecord(value, identityLabelMap)),
    check: (s, labels) => {
      const digest = labelsDigest(labels);
      return identityIssues(Number(s), digest, index.get(digest));
    },
    row: (s, labels) => ({ id: Number(s), labels }),
    owns: () => true,
    onChange: (_k, row, previous) => {
      const cache = o.identities.cache;
      if (previous && cache.get(labelsKey(previous.labels)) === previous.id) {
        cache.delete(labelsKey(previous.labels));
      }
      if (row) cache.set(labelsKey(row.labels), row.id);
    },
  };

  const podSpec: KindSpec<z.output<typeof podRecord>, PodMeta> = {
    kind: "Pod",
    prefix: keys.pods,
    table: state.pods,
    rowKey: (s) => s,
    name: (s) => {
      const [namespace = "", name = ""] = splitKey(s);
      return { namespace: namespace.slice(0, 256), name: name.slice(0, 256) };
    },
    read: (s, value) =>
      withKey(keyIssue(s, ["namespace", "pod name"]), readRecord(value, podRecord)),
    row: (s, p) => {
      const [namespace = "", name = ""] = splitKey(s);
      return {
        namespace,
        name,
        labels: p.labels ?? {},
        namedPorts: p.namedPorts ?? {},
        ...(p.serviceAccount ? { serviceAccount: p.serviceAccount } : {}),
      };
    },
    owns: () => true,
  };

  const namespaceSpec: KindSpec<z.output<typeof namespaceRecord>, NamespaceMeta> = {
    kind: "Namespace",
    prefix: keys.namespaces,
    table: state.namespaces,
    rowKey: (s) => s,
    name: one,
    read: (s, value) => withKey(keyIssue(s, ["namespace"]), readRecord(value, namespaceRecord)),
    row: (s, n) => ({ name: s, labels: n.labels ?? {} }),
    owns: () => true,
  };

  const policySpec: KindSpec<unknown, PolicyRecord> = {
    kind: "Policy",
    prefix: keys.policies,
    table: state.policies,
    rowKey: (s) => s,
    name: one,
    read: (_s, value) => readJson(value, LIMITS.manifestChars),
    check: (s, manifest) => {
      const named = policyKeyIssues(s, manifest);
      return named.length ? named : parseManifest(manifest).issues;
    },
    row: (s, manifest, revision) => ({ key: s, manifest, revision: Number(revision) }),
    owns: () => true,
  };

  const objectSpec = <T, R>(
    kind: "Service" | "EndpointSlice",
    prefix: string,
    table: Table<R>,
    parse: (doc: unknown) => Parsed<T & { namespace: string; name: string }>,
    row: (value: T, revision: number) => R,
  ): KindSpec<T & { namespace: string; name: string }, R> => ({
    kind,
    prefix,
    table,
    rowKey: (s) => s,
    name: (s) => {
      const [namespace = "", name = ""] = splitKey(s);
      return { namespace: namespace.slice(0, 256), name: name.slice(0, 256) };
    },
    read: (_s, value) => {
      const doc = readJson(value, LIMITS.manifestChars);
      return doc.ok ? parsedRead(parse(doc.value)) : doc;
    },
    check: (s, v) =>
      objectKey(v) === s ? [] : [{
        path: "metadata",
        message: `${kind} ${JSON.stringify(objectKey(v))} does not match the key it is stored ` +
          `under (${JSON.stringify(s)})`,
      }],
    row: (_s, v, revision) => row(v, Number(revision)),
    owns: () => true,
  });
  const serviceSpec = objectSpec(
    "Service",
    keys.services,
    state.services,
    (doc) => parseService(doc, o.services),
    (service, revision): ServiceRecord => ({ service, revision }),
  );
  const sliceSpec = objectSpec(
    "EndpointSlice",
    keys.endpointSlices,
    state.endpointSlices,
    parseEndpointSlice,
    (slice, revision): EndpointSliceRecord => ({ slice, revision }),
  );

  return [
    claimSpec,
    nodeSpec,
    endpointSpec,
    indexSpec,
    identitySpec,
    podSpec,
    namespaceSpec,
    policySpec,
    serviceSpec,
    sliceSpec,
  ] as KindSpec[];
}

/** A parser's result as a record read. */
function parsedRead<T>(p: Parsed<T>): Read<T> {
  return p.ok ? p : { ok: false, issues: p.issues };
}

/** `identities/id/<n>`: n a decimal number in the cluster range. */
function identityKeyIssue(s: string) {
  const n = /^[1-9][0-9]{0,8}$/.test(s) ? Number(s) : NaN;
  if (n >= CLUSTER_IDENTITIES.min && n <= CLUSTER_IDENTITIES.max) return undefined;
  return {
    path: "",
    message: `Identity ${JSON.stringify(s.slice(0, 60))} is not in the cluster identity range ` +
      `${CLUSTER_IDENTITIES.min}-${CLUSTER_IDENTITIES.max}`,
  };
}
