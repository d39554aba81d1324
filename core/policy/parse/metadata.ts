// What every manifest shares: apiVersion/kind (only the kinds below are accepted) and metadata
// (name, namespace, labels, annotations). The `policy.hypha.dev/audit` annotation puts a policy
// in audit mode: its verdicts are reported, not enforced.
import { child, type Issues, quote } from "./issues.ts";
import { dnsLabelProblem, labelKeyProblem, labelValueProblem, subdomainProblem } from "./names.ts";
import {
  asObject,
  asString,
  checkFields,
  DEFAULT_NAMESPACE,
  field,
  type Obj,
  OBJECT_META_FIELDS,
  readStringMap,
} from "./read.ts";

export { DEFAULT_NAMESPACE };

export interface KindInfo {
  kind:
    | "NetworkPolicy"
    | "CiliumNetworkPolicy"
    | "CiliumClusterwideNetworkPolicy"
    | "CiliumCIDRGroup";
  /** The first is the one suggested when another is written. */
  apiVersions: readonly string[];
  namespaced: boolean;
}

export const KINDS: readonly KindInfo[] = [
  { kind: "NetworkPolicy", apiVersions: ["networking.k8s.io/v1"], namespaced: true },
  { kind: "CiliumNetworkPolicy", apiVersions: ["cilium.io/v2"], namespaced: true },
  { kind: "CiliumClusterwideNetworkPolicy", apiVersions: ["cilium.io/v2"], namespaced: false },
  // v2alpha1 is what Cilium documents; newer Cilium also serves the same schema as v2.
  {
    kind: "CiliumCIDRGroup",
    apiVersions: ["cilium.io/v2alpha1", "cilium.io/v2"],
    namespaced: false,
  },
];

/** Annotation whose value "true" makes a policy audit-only ("false" or absent: enforced). */
export const AUDIT_ANNOTATION = "policy.hypha.dev/audit";

/** The document as an object with a supported apiVersion and kind; undefined with an issue. */
export function readKind(
  doc: unknown,
  path: string,
  issues: Issues,
): { info: KindInfo; obj: Obj } | undefined {
  const obj = asObject(doc, path, issues);
  if (!obj) return undefined;
  const apiVersion = requiredString(obj, "apiVersion", path, issues);
  const kind = requiredString(obj, "kind", path, issues);
  if (apiVersion === undefined || kind === undefined) return undefined;
  const info = KINDS.find((k) => k.kind === kind);
  if (!info) {
    const accepted = KINDS.map((k) => `${k.apiVersions[0]} ${k.kind}`);
    issues.add(
      child(path, "kind"),
      `Unsupported kind ${quote(kind)} (apiVersion ${quote(apiVersion)}): accepted are ` +
        `${accepted.slice(0, -1).join(", ")} and ${accepted[accepted.length - 1]}`,
    );
    return undefined;
  }
  if (!info.apiVersions.includes(apiVersion)) {
    issues.add(
      child(path, "apiVersion"),
      `Unsupported apiVersion ${quote(apiVersion)} for kind ${quote(kind)}: use ` +
        quote(info.apiVersions[0]),
    );
    return undefined;
  }
  return { info, obj };
}

export interface Identity {
  name: string;
  /** Absent for cluster-scoped kinds. */
  namespace?: string;
}

/** metadata.name and metadata.namespace (defaulted to "default" for namespaced kinds). */
export function readIdentity(
  obj: Obj,
  info: KindInfo,
  path: string,
  issues: Issues,
): Identity | undefined {
  const metaPath = child(path, "metadata");
  const metaV = field(obj, "metadata");
  if (metaV === undefined) {
    issues.add(metaPath, `Field "metadata" is required (with at least a name)`);
    return undefined;
  }
  const meta = asObject(metaV, metaPath, issues);
  if (!meta) return undefined;
  const before = issues.count;
  const name = requiredString(meta, "name", metaPath, issues);
  if (name !== undefined) checkName(name, subdomainProblem, child(metaPath, "name"), issues);
  const nsV = field(meta, "namespace");
  const nsPath = child(metaPath, "namespace");
  let namespace: string | undefined = info.namespaced ? DEFAULT_NAMESPACE : undefined;
  if (nsV !== undefined && !info.namespaced) {
    issues.add(nsPath, `${info.kind} is cluster-wide: remove metadata.namespace`);
  } else if (nsV !== undefined) {
    namespace = asString(nsV, nsPath, issues);
    if (namespace !== undefined) checkName(namespace, dnsLabelProblem, nsPath, issues);
  }
  if (issues.count !== before || name === undefined) return undefined;
  return namespace === undefined ? { name } : { name, namespace };
}

export interface Metadata extends Identity {
  audit: boolean;
}

/**
 * The identity plus checked labels and annotations, and the audit annotation. Problems are
 * reported but a value is always returned (an invalid name reads as ""), so the caller can go on
 * checking the rest of the manifest; a manifest with issues contributes nothing anyway.
 */
export function readMetadata(obj: Obj, info: KindInfo, path: string, issues: Issues): Metadata {
  const identity = readIdentity(obj, info, path, issues) ??
    (info.namespaced ? { name: "", namespace: DEFAULT_NAMESPACE } : { name: "" });
  const metaPath = child(path, "metadata");
  const meta = field(obj, "metadata");
  if (typeof meta !== "object" || meta === null || Array.isArray(meta)) {
    return { ...identity, audit: false };
  }
  const m = meta as Obj;
  checkFields(m, metaPath, issues, OBJECT_META_FIELDS);
  const labels = readStringMap(field(m, "labels"), child(metaPath, "labels"), issues);
  for (const [key, value] of Object.entries(labels)) {
    const at = child(child(metaPath, "labels"), key);
    const problem = labelKeyProblem(key) ?? labelValueProblem(value);
    if (problem) issues.add(at, `Invalid label ${quote(key)}: ${problem}`);
  }
  const annotationsPath = child(metaPath, "annotations");
  const annotations = readStringMap(field(m, "annotations"), annotationsPath, issues);
  for (const key of Object.keys(annotations)) {
    const problem = labelKeyProblem(key);
    if (problem) {
      issues.add(child(annotationsPath, key), `Invalid annotation key ${quote(key)}: ${problem}`);
    }
  }
  const auditText = annotations[AUDIT_ANNOTATION];
  if (auditText !== undefined && auditText !== "true" && auditText !== "false") {
    issues.add(
      child(annotationsPath, AUDIT_ANNOTATION),
      `Invalid value ${quote(auditText)}: must be "true" or "false"`,
    );
  }
  return { ...identity, audit: auditText === "true" };
}

function requiredString(o: Obj, key: string, path: string, issues: Issues): string | undefined {
  const v = field(o, key);
  if (v === undefined || v === "") {
    issues.add(child(path, key), `Field ${quote(key)} is required`);
    return undefined;
  }
  return asString(v, child(path, key), issues);
}

function checkName(
  name: string,
  problemOf: (name: string) => string | undefined,
  path: string,
  issues: Issues,
): void {
  const problem = problemOf(name);
  if (problem) issues.add(path, `Invalid name ${quote(name)}: ${problem}`);
}
