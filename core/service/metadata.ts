// What Services and EndpointSlices share: apiVersion/kind and metadata (name, namespace,
// labels, annotations). The ObjectMeta fields `kubectl get -o yaml` prints are accepted and
// ignored, so a manifest exported from a cluster applies unchanged.
import { labelKeyProblem, labelValueProblem } from "../identity/label_syntax.ts";
import {
  asObject,
  asString,
  checkFields,
  child,
  DEFAULT_NAMESPACE,
  field,
  type Issues,
  type Obj,
  OBJECT_META_FIELDS,
  quote,
  stringMap,
} from "./_fields.ts";
import { dnsLabelProblem } from "./names.ts";

export { DEFAULT_NAMESPACE };

export interface ObjectMeta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/**
 * The document as an object of the given kind. A wrong apiVersion is an issue but the rest is
 * still checked; another kind stops here (its fields would only be noise).
 */
export function readHead(
  doc: unknown,
  want: { apiVersion: string; kind: string },
  issues: Issues,
): Obj | undefined {
  const obj = asObject(doc, "", issues);
  if (!obj) return undefined;
  const kind = field(obj, "kind");
  if (kind !== want.kind) {
    issues.add(
      "kind",
      `Must be ${quote(want.kind)}, got ${kind === undefined ? "nothing" : quote(kind)}`,
    );
    return undefined;
  }
  const apiVersion = field(obj, "apiVersion");
  if (apiVersion !== want.apiVersion) {
    issues.add(
      "apiVersion",
      `Must be ${quote(want.apiVersion)} for kind ${quote(want.kind)}, got ${
        apiVersion === undefined ? "nothing" : quote(apiVersion)
      }`,
    );
  }
  return obj;
}

/**
 * metadata with checked names, labels and annotations. Problems are issues; a value is always
 * returned (an invalid name reads as "") so the caller goes on checking the rest.
 */
export function readObjectMeta(
  obj: Obj,
  issues: Issues,
  nameProblem: (name: string) => string | undefined,
): ObjectMeta {
  const out: ObjectMeta = { name: "", namespace: DEFAULT_NAMESPACE, labels: {}, annotations: {} };
  const metaV = field(obj, "metadata");
  if (metaV === undefined) {
    issues.add("metadata", `Field "metadata" is required (with at least a name)`);
    return out;
  }
  const meta = asObject(metaV, "metadata", issues);
  if (!meta) return out;
  checkFields(meta, "metadata", issues, OBJECT_META_FIELDS);
  const nameV = field(meta, "name");
  if (nameV === undefined || nameV === "") issues.add("metadata.name", `Field "name" is required`);
  else {
    const name = asString(nameV, "metadata.name", issues);
    const problem = name === undefined ? undefined : nameProblem(name);
    if (problem) issues.add("metadata.name", `Invalid name ${quote(name)}: ${problem}`);
    else if (name !== undefined) out.name = name;
  }
  const nsV = field(meta, "namespace");
  if (nsV !== undefined && nsV !== "") {
    const ns = asString(nsV, "metadata.namespace", issues);
    const problem = ns === undefined ? undefined : dnsLabelProblem(ns);
    if (problem) issues.add("metadata.namespace", `Invalid namespace ${quote(ns)}: ${problem}`);
    else if (ns !== undefined) out.namespace = ns;
  }
  const labelsPath = child("metadata", "labels");
  out.labels = stringMap(field(meta, "labels"), labelsPath, issues);
  for (const [key, value] of Object.entries(out.labels)) {
    const problem = labelKeyProblem(key) ?? labelValueProblem(value);
    if (problem) issues.add(child(labelsPath, key), `Invalid label ${quote(key)}: ${problem}`);
  }
  const annotationsPath = child("metadata", "annotations");
  out.annotations = stringMap(field(meta, "annotations"), annotationsPath, issues);
  for (const key of Object.keys(out.annotations)) {
    const problem = labelKeyProblem(key);
    if (problem) {
      issues.add(child(annotationsPath, key), `Invalid annotation key ${quote(key)}: ${problem}`);
    }
  }
  return out;
}
