// The configuration schema: every field, its default and its rule. Unknown fields are errors, so
// an operator's typo is never silently ignored.
import { z } from "zod";
import { parseCidr, parseCidrOrReason } from "../ipam/cidr.ts";
import { parseIpOrReason } from "../ipam/ip.ts";
import { DEFAULT_EXCLUDED_LABELS } from "../identity/labels.ts";
import { FlowFilterError } from "../flows/filter.ts";
import { parseFilterSpec } from "../flows/query.ts";
import { DEFAULT_CAPACITY, DEFAULT_SUBSCRIBER_BUFFER } from "../flows/store.ts";
import {
  DEFAULT_CLUSTER_IP_RANGE,
  DEFAULT_NODE_PORT_RANGE,
  parsePortRange,
} from "../service/options.ts";
import { parseHostPort } from "./host_port.ts";

const absolutePath = z.string().refine((p) => p.startsWith("/"), "must be an absolute path");

const hostPort = z.string().refine(
  (s) => (parseHostPort(s)?.port ?? 0) > 0,
  "must be host:port, e.g. 127.0.0.1:9962",
);

const ifname = z.string().regex(/^[^\s/]{1,15}$/, "must be an interface name (1-15 characters)");

/** "" or a CIDR of the given family (`strict`: no host bits set). */
const cidr = (family: 4 | 6) =>
  z.string().superRefine((s, ctx) => {
    if (s === "") return;
    const c = parseCidrOrReason(s, { strict: true });
    if (typeof c === "string") ctx.addIssue({ code: "custom", message: c });
    else if (c.address.family !== family) {
      ctx.addIssue({ code: "custom", message: `must be an IPv${family} CIDR` });
    }
  });

const ipAddress = (family: 4 | 6) =>
  z.string().superRefine((s, ctx) => {
    if (s === "") return;
    const ip = parseIpOrReason(s);
    if (typeof ip === "string") ctx.addIssue({ code: "custom", message: ip });
    else if (ip.family !== family) {
      ctx.addIssue({ code: "custom", message: `must be an IPv${family} address` });
    }
  });

/** "" or an absolute file path. */
const optionalPath = z.string().refine(
  (p) => p === "" || p.startsWith("/"),
  "must be an absolute path",
);

/**
 * The TLS files of one endpoint (core/tls loadTlsMaterial reads and checks them at start): the
 * CA certificates peers must chain to, this holder's certificate and key (PEM; `hypha certs`
 * makes them), and optionally the CA's revocation list. ca, cert and key go together; "" = not
 * set.
 */
export const tlsFiles = z.strictObject({
  ca: optionalPath.default(""),
  cert: optionalPath.default(""),
  key: optionalPath.default(""),
  crl: optionalPath.default(""),
}).superRefine((t, ctx) => {
  const given = (["ca", "cert", "key"] as const).filter((k) => t[k] !== "");
  if (given.length === 0 && t.crl === "") return;
  for (const k of ["ca", "cert", "key"] as const) {
    if (t[k] !== "") continue;
    ctx.addIssue({
      code: "custom",
      path: [k],
      message: `is required with ${
        given.length ? given.join(" and ") : "crl"
      } (ca, cert and key go together)`,
    });
  }
}).prefault({});

const url = z.string().refine((s) => /^https?:\/\/[^\s/]+(:\d+)?\/?$/.test(s), {
  message: "must be an http(s)://host:port URL",
});

export const ROUTING_MODES = ["tunnel", "native"] as const;
export const STORE_KINDS = ["local", "etcd"] as const;

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** What the datapath reports as flow events (bpf/lib/trace.h enum monitor_level). */
export const MONITOR_LEVELS = ["off", "none", "low", "medium", "maximum"] as const;

/** "" or a flow filter in query-parameter form (core/flows/query.ts parseFilterSpec). */
const flowFilterSpec = z.string().superRefine((s, ctx) => {
  if (s === "") return;
  try {
    parseFilterSpec(s);
  } catch (err) {
    if (!(err instanceof FlowFilterError)) throw err;
    ctx.addIssue({ code: "custom", message: `is not a flow filter: ${err.message}` });
  }
});

export const nodeNameRule = {
  pattern: /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
  message: "must be a DNS label: lowercase letters, digits and '-', at most 63 characters",
};

/** Every plugin's section has `enabled`; the rest is validated by the plugin's own schema. */
export const pluginSection = z.looseObject({ enabled: z.boolean().default(false) });

export const configSchema = z.strictObject({
  node: z.strictObject({
    name: z.string().refine((s) => s === "" || nodeNameRule.pattern.test(s), nodeNameRule.message)
      .default(""),
    cluster: z.string().min(1, "must not be empty").default("default"),
    /** The node's IPv4 address (tunnel endpoint, masquerade address); "" = the first global
     * IPv4 address of the first datapath device. */
    address: ipAddress(4).default(""),
    addressV6: ipAddress(6).default(""),
    /** A fixed pod CIDR for this node; "" = allocated from networking.ipv4.pool. */
    podCIDR: cidr(4).default(""),
    podCIDRv6: cidr(6).default(""),
  }).prefault({}),
  paths: z.strictObject({
    bpffs: absolutePath.default("/sys/fs/bpf"),
    state: absolutePath.default("/var/lib/hypha"),
    run: absolutePath.default("/run/hypha"),
  }).prefault({}),
  api: z.strictObject({
    socket: z.string().refine((s) => s === "" || s.startsWith("/"), "must be an absolute path")
      .default(""),
    tcp: z.strictObject({
      enabled: z.boolean().default(false),
      listen: hostPort.default("127.0.0.1:9962"),
      tokenFile: z.string().default(""),
    }).prefault({}),
  }).prefault({}),
  datapath: z.strictObject({
    devices: z.array(ifname).default([]),
    attachMode: z.enum(["auto", "tcx", "tc"]).default("auto"),
    counters: z.boolean().default(true),
    /**
     * The cgroup v2 directory whose processes (pods and node processes) get hypha's socket hooks
     * (plugins/lb socket load balancing); "" = the root of the cgroup v2 mount found in
     * /proc/mounts. A lab node sets its own subtree.
     */
    cgroupRoot: z.string().refine((p) => p === "" || p.startsWith("/"), "must be an absolute path")
      .default(""),
  }).prefault({}),
  networking: z.strictObject({
    /** Pod networking (CNI, endpoint datapath, cross-node routing). */
    enabled: z.boolean().default(true),
    ipv4: z.strictObject({
      pool: cidr(4).default("10.244.0.0/16"),
      nodeMaskSize: z.int().min(8).max(30).default(24),
    }).prefault({}),
    ipv6: z.strictObject({
      /** "" = IPv4 only. */
      pool: cidr(6).default(""),
      nodeMaskSize: z.int().min(16).max(120).default(112),
    }).prefault({}),
    routing: z.enum(ROUTING_MODES).default("tunnel"),
    /**
     * Native routing, sending side: "bpf" forwards pod traffic to other nodes from BPF (FIB
     * lookup + redirect to the uplink), "legacy" lets the host stack forward it. Receiving
     * nodes always deliver into the pod from BPF. Legacy is the default because it measured
     * faster in this project's lab (bench/pod_network); measure on your hardware.
     */
    hostRouting: z.enum(["bpf", "legacy"]).default("legacy"),
    tunnelPort: z.int().min(1).max(65535).default(8472),
    tunnelDevice: ifname.default("hypha_vxlan"),
    masquerade: z.boolean().default(true),
    /**
     * The node ports SNAT gives translated flows (masquerade, the load balancer's SNAT to remote
     * backends), per destination address and port. Keep it clear of the kernel's ephemeral range
     * (net.ipv4.ip_local_port_range, 32768-60999 by default): the node's own connections take
     * ports from there, and a translation on the same port to the same destination would take
     * their replies. The default stays below the NodePort range (30000-32767) too: a frontend
     * on a NAT port works, but each of its packets costs a NAT lookup first (bpf/lib/nat.h).
     */
    natPortMin: z.int().min(1024).max(65535).default(1024),
    natPortMax: z.int().min(1024).max(65535).default(29999),
    /** Seconds between conntrack/NAT garbage-collection rounds. */
    conntrackGC: z.int().min(1).max(3600).default(30),
    /** Pod MTU; 0 = the uplink's MTU, minus 50 bytes in tunnel mode. */
    mtu: z.int().refine((n) => n === 0 || (n >= 576 && n <= 65535), "must be 0 or 576-65535")
      .default(0),
  }).prefault({}),
  policy: z.strictObject({
    /** default: endpoints are enforced in a direction once a policy selects them for it;
     * always: every endpoint is default-deny; never: no policy is enforced. */
    enforcement: z.enum(["default", "always", "never"]).default("default"),
    /** Node-wide audit mode: verdicts are counted (DROP reason POLICY_AUDIT), never enforced. */
    audit: z.boolean().default(false),
    /** Pod label keys left out of identities (high-cardinality labels that say nothing about
     * security); the default is Cilium's list. */
    identityExcludeLabels: z.array(z.string().min(1)).default([...DEFAULT_EXCLUDED_LABELS]),
  }).prefault({}),
  services: z.strictObject({
    /** Cluster IPs (spec.clusterIP) of Services are allocated from and checked against this
     * IPv4 range; "" = no IPv4 cluster IPs (an IPv6-only cluster). */
    clusterIPRange: cidr(4).default(DEFAULT_CLUSTER_IP_RANGE),
    /** The IPv6 range; "" = none. With both set, services may be dual-stack. */
    clusterIPRangeV6: cidr(6).default(""),
    /** Node ports of NodePort and LoadBalancer services: "MIN-MAX", inclusive. */
    nodePortRange: z.string().superRefine((s, ctx) => {
      const r = parsePortRange(s);
      if (typeof r === "string") ctx.addIssue({ code: "custom", message: r });
    }).default(DEFAULT_NODE_PORT_RANGE),
  }).prefault({}),
  store: z.strictObject({
    kind: z.enum(STORE_KINDS).default("local"),
    /** Directory of Kubernetes-shaped YAML manifests (Node, Namespace, Pod, policies, Service,
     * EndpointSlice) for the local store. */
    manifests: z.string().refine((p) => p === "" || p.startsWith("/"), "must be an absolute path")
      .default(""),
    etcd: z.strictObject({
      endpoints: z.array(url).default([]),
      prefix: z.string().regex(/^\/[\w./-]*$/, "must start with / (letters, digits, . _ - /)")
        .default("/hypha"),
      /** Seconds a node's registration outlives its agent. */
      leaseTTL: z.int().min(5).max(3600).default(20),
      timeoutMs: z.int().min(100).max(60_000).default(3000),
      /** Seconds between identity garbage-collection rounds (0 = never). */
      identityGC: z.int().min(0).max(86_400).default(60),
      /** TLS to etcd (https endpoints): the CA that signed the members' certificates, and this
       * node's client certificate and key when etcd runs with --client-cert-auth. With etcd auth
       * on, the certificate must have no common name (hypha certs issue --no-cn). */
      tls: z.strictObject({
        ca: optionalPath.default(""),
        cert: optionalPath.default(""),
        key: optionalPath.default(""),
      }).prefault({}),
      /** etcd user (etcd auth, e.g. one user per node with a role for its own keys); "" = none. */
      username: z.string().regex(/^[^\s:]*$/, "must have no spaces or ':'").default(""),
      /** A file holding the etcd user's password (first line; keep it 0600). */
      passwordFile: optionalPath.default(""),
      /** Seconds a watch stream may go without a sign of life before it is reconnected through
       * the next endpoint (a half-open connection is noticed within this). */
      watchLiveness: z.int().min(2).max(600).default(10),
    }).prefault({}),
  }).prefault({}),
  observability: z.strictObject({
    /** Flows: the datapath's events kept in the flow store, the API and `hypha observe`. */
    enabled: z.boolean().default(true),
    monitor: z.strictObject({
      /** What the datapath reports (Cilium's monitor aggregation): off, none (every packet),
       * low, medium (new connections, closes, periodic reports), maximum (new and closes). */
      level: z.enum(MONITOR_LEVELS).default("medium"),
      /** Seconds between periodic reports of a long connection. */
      interval: z.int().min(1).max(3600).default(5),
    }).prefault({}),
    /** Drop events per second and CPU (0 = none; the drop counters still count every drop). */
    dropEventsPerSecond: z.int().min(0).max(1_000_000).default(1000),
    store: z.strictObject({
      /** Flows kept in memory (the most recent; the oldest are evicted). */
      capacity: z.int().min(100).max(1_000_000).default(DEFAULT_CAPACITY),
    }).prefault({}),
    /** Flows queued for each `--follow` reader; a slower reader loses (and is told) the rest.
     * At least one read batch of the datapath's events (core/flows/reader.ts READ_BATCH). */
    subscriberBuffer: z.int().min(256).max(1_000_000).default(DEFAULT_SUBSCRIBER_BUFFER),
    export: z.strictObject({
      /** An NDJSON file every flow is appended to ("" = no export). */
      path: z.string().refine((p) => p === "" || p.startsWith("/"), "must be an absolute path")
        .default(""),
      maxSizeMB: z.int().min(1).max(1_000_000).default(10),
      maxBackups: z.int().min(0).max(1000).default(3),
      /** Only flows matching this filter, e.g. "verdict=DROPPED&not-namespace=kube-system". */
      filter: flowFilterSpec.default(""),
    }).prefault({}),
    peer: z.strictObject({
      /** The listener other nodes read flows from for the cluster view (GET /v1/flows only);
       * started when the node has an address, and on a non-loopback address only with `tls`
       * (or `insecure`). */
      enabled: z.boolean().default(true),
      /** host:port; "" = the node's own address, port 4245 (every node's peers use that port). */
      listen: z.union([z.literal(""), hostPort]).default(""),
      /** Mutual TLS for the listener and the cluster view's requests: the cluster CA, this
       * node's certificate (its address as an IP SAN, usage server and client) and key. */
      tls: tlsFiles,
      /** Serve flows over plain HTTP on a non-loopback address, unauthenticated (and ask peers
       * so): for a network where every host may read every flow. */
      insecure: z.boolean().default(false),
      /** The most flows one peer answer, and the cluster view, holds (the most recent, or the
       * first for `first`); a query for more is cut and says so (`truncated`). At about 1 KB of
       * JSON a flow, 50,000 stay under the 64 MiB a node reads from one peer. */
      maxFlows: z.int().min(1).max(50_000).default(10_000),
    }).prefault({}),
  }).prefault({}),
  plugins: z.record(z.string(), pluginSection).default({}),
  log: z.strictObject({ level: z.enum(LOG_LEVELS).default("info") }).prefault({}),
}).superRefine((c, ctx) => {
  if (c.networking.natPortMin > c.networking.natPortMax) {
    ctx.addIssue({
      code: "custom",
      path: ["networking", "natPortMin"],
      message: `must not be above networking.natPortMax (${c.networking.natPortMax})`,
    });
  }
  if (!c.services.clusterIPRange && !c.services.clusterIPRangeV6) {
    ctx.addIssue({
      code: "custom",
      path: ["services", "clusterIPRange"],
      message:
        "must be an IPv4 CIDR when services.clusterIPRangeV6 is empty (services need cluster IPs)",
    });
  }
  for (
    const [range, pool, field] of [
      [c.services.clusterIPRange, c.networking.ipv4.pool, "networking.ipv4.pool"],
      [c.services.clusterIPRangeV6, c.networking.ipv6.pool, "networking.ipv6.pool"],
    ] as const
  ) {
    if (range && pool && parseCidr(range).overlaps(parseCidr(pool))) {
      ctx.addIssue({
        code: "custom",
        path: ["services", field.includes("v6") ? "clusterIPRangeV6" : "clusterIPRange"],
        message: `must not overlap ${field} (${pool}): pods and services need distinct addresses`,
      });
    }
  }
  if (c.store.kind === "etcd" && c.store.etcd.endpoints.length === 0) {
    ctx.addIssue({
      code: "custom",
      path: ["store", "etcd", "endpoints"],
      message: "needs at least one endpoint when store.kind is etcd",
    });
  }
  for (const issue of etcdIssues(c.store.etcd)) ctx.addIssue({ code: "custom", ...issue });
  if (c.api.tcp.enabled && !c.api.tcp.tokenFile) {
    ctx.addIssue({
      code: "custom",
      path: ["api", "tcp", "tokenFile"],
      message: "is required when api.tcp.enabled is true (the TCP listener needs a bearer token)",
    });
  }
});

export type HyphaConfig = z.output<typeof configSchema>;

/** What does not fit together in store.etcd: TLS and the endpoints' scheme, half a credential. */
function etcdIssues(
  e: {
    endpoints: string[];
    tls: { ca: string; cert: string; key: string };
    username: string;
    passwordFile: string;
  },
): { path: (string | number)[]; message: string }[] {
  const at = (...path: (string | number)[]) => ["store", "etcd", ...path];
  const issues: { path: (string | number)[]; message: string }[] = [];
  const https = e.endpoints.filter((u) => u.startsWith("https:"));
  const plain = e.endpoints.findIndex((u) => !u.startsWith("https:"));
  if (https.length && plain >= 0) {
    issues.push({
      path: at("endpoints", plain),
      message: "must be https like the other endpoints (one cluster, one scheme)",
    });
  }
  if (https.length && !e.tls.ca) {
    issues.push({
      path: at("tls", "ca"),
      message: `is required for https endpoints ("${
        https[0]
      }"): the CA that signed etcd's certificates`,
    });
  }
  if (!https.length && e.endpoints.length && (e.tls.ca || e.tls.cert)) {
    issues.push({
      path: at("endpoints", 0),
      message: "must be https when store.etcd.tls is set",
    });
  }
  if (Boolean(e.tls.cert) !== Boolean(e.tls.key)) {
    issues.push({
      path: at("tls", e.tls.cert ? "key" : "cert"),
      message: `is required with store.etcd.tls.${e.tls.cert ? "cert" : "key"}`,
    });
  }
  if (e.tls.cert && !e.tls.ca) {
    issues.push({ path: at("tls", "ca"), message: "is required with store.etcd.tls.cert" });
  }
  if (Boolean(e.username) !== Boolean(e.passwordFile)) {
    issues.push({
      path: at(e.username ? "passwordFile" : "username"),
      message: `is required with store.etcd.${e.username ? "username" : "passwordFile"}`,
    });
  }
  if (e.username && plain >= 0 && !https.length) {
    issues.push({
      path: at("username"),
      message: "needs https endpoints: a password is not sent over plain HTTP",
    });
  }
  return issues;
}
