// The shapes of the records hypha reads from the cluster store (and, for nodes, pods and
// namespaces, from the manifest directory), as zod schemas with bounded sizes. A record is read
// like API input: every problem is reported at its field path (issues.ts), addresses and CIDRs
// are parsed by core/ipam and come out in canonical text, and nothing unbounded gets through.
// Unknown fields are dropped, not refused: a newer agent may write fields an older one does not
// know. What a record must agree with besides its own shape (claims, pools, keys) is checks.ts.
import { z } from "zod";
import { parseCidrOrReason } from "../../ipam/cidr.ts";
import { parseIpOrReason } from "../../ipam/ip.ts";
import { labelKeyProblem, labelValueProblem } from "../../identity/label_syntax.ts";
import { FIRST_ALLOCATED_IDENTITY, MAX_IDENTITY } from "../../identity/local_allocator.ts";
import { ifnameProblem } from "../../netlink/validate.ts";
import { portNameProblem } from "../../policy/parse/names.ts";
import { nodeNameRule } from "../../config/schema.ts";
import type { RecordIssue } from "../../state/mod.ts";
import { quote, recordIssues } from "./issues.ts";

/** Bounds on what one record may hold. etcd itself takes values up to 1.5 MiB by default. */
export const LIMITS = {
  /** Characters of a node, endpoint, pod, namespace or identity record. */
  recordChars: 64 * 1024,
  /** Characters of a policy, Service or EndpointSlice manifest. */
  manifestChars: 1024 * 1024,
  /** Labels of one label map. */
  labels: 256,
  /** Characters of an identity label key (`k8s:io.cilium.k8s.namespace.labels.<key>`) and value. */
  identityLabelKey: 512,
  identityLabelValue: 512,
  /** Named and host ports of one endpoint or pod. */
  ports: 128,
  /** Characters of other text fields (names, ids). */
  text: 253,
} as const;

/** The cluster-wide identity range: reserved identities below, node-local (CIDR) ones above. */
export const CLUSTER_IDENTITIES = { min: FIRST_ALLOCATED_IDENTITY, max: MAX_IDENTITY } as const;

/** A field's own rule as a zod refinement: `problem` returns why the value is wrong, or nothing. */
function rule(problem: (s: string) => string | undefined) {
  return (s: string, ctx: z.RefinementCtx) => {
    const p = problem(s);
    if (p) ctx.addIssue({ code: "custom", message: p });
  };
}

// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;

/** Bounded text without control characters (a newline in a name is never meant). */
export const text = (max: number = LIMITS.text) =>
  z.string().max(max).superRefine(
    rule((s) =>
      CONTROL.test(s)
        ? `Must not contain control characters, got ${quote(s.slice(0, 60))}`
        : undefined
    ),
  );

export const nodeName = z.string().max(63).superRefine(
  rule((s) =>
    nodeNameRule.pattern.test(s)
      ? undefined
      : `Invalid node name ${quote(s)}: ${nodeNameRule.message}`
  ),
);

/** An address, written back in canonical text. */
export const ipText = z.string().max(64).transform((s, ctx) => {
  const ip = parseIpOrReason(s);
  if (typeof ip !== "string") return ip.toString();
  ctx.addIssue({ code: "custom", message: `Invalid IP address ${quote(s)}: ${ip}` });
  return z.NEVER;
});

/** A prefix without host bits, written back in canonical text. */
export const cidrText = z.string().max(64).transform((s, ctx) => {
  const c = parseCidrOrReason(s, { strict: true });
  if (typeof c !== "string") return c.toString();
  ctx.addIssue({ code: "custom", message: `Invalid CIDR ${quote(s)}: ${c}` });
  return z.NEVER;
});

const intIn = (min: number, max: number, what: string) =>
  z.number().superRefine((n, ctx) => {
    if (!Number.isInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: "custom", message: `Must be ${min}-${max} (${what}), got ${n}` });
    }
  });

export const identityNumber = intIn(
  CLUSTER_IDENTITIES.min,
  CLUSTER_IDENTITIES.max,
  "the cluster identity range",
);

const port = intIn(1, 65535, "a port");

/** Kubernetes labels (pods, namespaces, endpoints): the syntax the CNI and the API enforce. */
export const labelMap = z.record(
  z.string().max(317).superRefine(rule((k) => {
    const p = labelKeyProblem(k);
    return p ? `Invalid label key ${quote(k)}: ${p}` : undefined;
  })),
  z.string().max(63).superRefine(rule((v) => {
    const p = labelValueProblem(v);
    return p ? `Invalid label value ${quote(v)}: ${p}` : undefined;
  })),
).superRefine((m, ctx) => {
  const n = Object.keys(m).length;
  if (n > LIMITS.labels) {
    ctx.addIssue({
      code: "custom",
      message: `Must have at most ${LIMITS.labels} labels, got ${n}`,
    });
  }
});

/** Identity labels (`k8s:app`, `k8s:io.kubernetes.pod.namespace`, ...): bounded text. */
export const identityLabelMap = z.record(
  text(LIMITS.identityLabelKey).min(1),
  text(LIMITS.identityLabelValue),
).superRefine((m, ctx) => {
  const n = Object.keys(m).length;
  if (n === 0) ctx.addIssue({ code: "custom", message: "Must have at least one label" });
  if (n > LIMITS.labels) {
    ctx.addIssue({
      code: "custom",
      message: `Must have at most ${LIMITS.labels} labels, got ${n}`,
    });
  }
});

const PROTOCOLS = ["TCP", "UDP", "SCTP"] as const;

export const namedPorts = z.record(
  z.string().max(15).superRefine(rule((n) => {
    const p = portNameProblem(n);
    return p ? `Invalid port name ${quote(n)}: ${p}` : undefined;
  })),
  z.object({ port, protocol: z.enum(PROTOCOLS) }),
).superRefine((m, ctx) => {
  const n = Object.keys(m).length;
  if (n > LIMITS.ports) {
    ctx.addIssue({ code: "custom", message: `Must have at most ${LIMITS.ports} ports, got ${n}` });
  }
});

/** nodes/<name>: a node's registration (core/store/etcd_store.ts NodeValue). */
export const nodeRecord = z.object({
  name: nodeName,
  cluster: text().min(1),
  /** Underlay addresses, IPv4 first. */
  addresses: z.array(ipText).min(1).max(4),
  podCIDRs: z.array(cidrText).min(1).max(2),
  instance: text(64).optional(),
  registeredAt: text(64).optional(),
});

/** endpoints/<node>/<id>: an endpoint another node publishes (core/endpoint/rows.ts). */
export const endpointRecord = z.object({
  node: nodeName,
  id: intIn(1, 65535, "an endpoint id"),
  containerId: text(256),
  ifname: z.string().superRefine(rule((s) => {
    const p = ifnameProblem(s);
    return p ? `Invalid interface name ${quote(s)}: ${p}` : undefined;
  })),
  namespace: text(63),
  pod: text(),
  labels: labelMap,
  identity: identityNumber,
  ips: z.array(ipText).min(1).max(2),
  namedPorts: namedPorts.optional(),
  hostPorts: z.array(z.object({
    hostPort: port,
    containerPort: port,
    protocol: z.enum(PROTOCOLS),
    hostIP: z.string().max(64).transform((s, ctx) => {
      if (s === "") return s;
      const ip = parseIpOrReason(s);
      if (typeof ip !== "string") return ip.toString();
      ctx.addIssue({ code: "custom", message: `Invalid IP address ${quote(s)}: ${ip}` });
      return z.NEVER;
    }).optional(),
  })).max(LIMITS.ports).optional(),
});

/** pods/<namespace>/<name>: what the Kubernetes API would say about a pod. */
export const podRecord = z.object({
  labels: labelMap.optional(),
  namedPorts: namedPorts.optional(),
  serviceAccount: text().optional(),
});

/** namespaces/<name>: a namespace's labels. */
export const namespaceRecord = z.object({ labels: labelMap.optional() });

/** A record decoded and checked against `schema`, or every problem found. */
export type Read<T> = { ok: true; value: T } | { ok: false; issues: RecordIssue[] };

/** JSON text of at most `maxChars`, decoded; or why not. */
export function readJson(text: string, maxChars: number): Read<unknown> {
  if (text.length > maxChars) {
    return {
      ok: false,
      issues: [{
        path: "",
        message: `Record is ${text.length} characters long; at most ${maxChars} are accepted`,
      }],
    };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return {
      ok: false,
      issues: [{ path: "", message: `Invalid JSON: ${(err as Error).message}` }],
    };
  }
}

/** JSON text checked against a schema; never throws. */
export function readRecord<S extends z.ZodType>(
  text: string,
  schema: S,
  maxChars: number = LIMITS.recordChars,
): Read<z.output<S>> {
  const doc = readJson(text, maxChars);
  if (!doc.ok) return doc;
  return checkRecord(doc.value, schema);
}

/** A decoded value checked against a schema; never throws. */
export function checkRecord<S extends z.ZodType>(doc: unknown, schema: S): Read<z.output<S>> {
  const r = schema.safeParse(doc);
  return r.success
    ? { ok: true, value: r.data }
    : { ok: false, issues: recordIssues(r.error, doc) };
}
