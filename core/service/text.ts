// Service and EndpointSlice manifests in a YAML or JSON text (what `hypha service apply` sends):
// every document parsed, every problem reported. Issue paths start with the document index when
// the text has several documents (`[1].spec.ports[0].port`), and are plain when it has one.
import YAML from "yaml";
import { isObject, type Obj, quote } from "./_fields.ts";
import { DEFAULT_NAMESPACE } from "./metadata.ts";
import { type EndpointSlice, objectKey, type Service, type ServiceIssue } from "./model.ts";
import type { ServiceOptions } from "./options.ts";
import { parseEndpointSlice } from "./parse_slice.ts";
import { parseService } from "./parse_service.ts";

export const SERVICE_KINDS = ["Service", "EndpointSlice"] as const;
export type ServiceKind = typeof SERVICE_KINDS[number];

export type ServiceObject =
  | { kind: "Service"; key: string; manifest: Obj; service: Service }
  | { kind: "EndpointSlice"; key: string; manifest: Obj; slice: EndpointSlice };

export interface ParsedText {
  /**
   * The documents that parsed, in order (all of them when `issues` is empty), each with the
   * path prefix of its document (`[1]`, or "" for a text of one document).
   */
  objects: Array<ServiceObject & { at: string }>;
  issues: ServiceIssue[];
}

/** `issue.path` under the document prefix (`[2]`): `[2].spec.type`, or `[2]` for the root. */
export function underDocument(prefix: string, issue: ServiceIssue): ServiceIssue {
  if (!prefix) return issue;
  const sep = issue.path === "" || issue.path.startsWith("[") ? "" : ".";
  const path = `${prefix}${sep}${issue.path}`;
  return { path, message: issue.message };
}

/**
 * The non-empty documents of a text, each with the path prefix of its issues (`[2]`, or "" when
 * the text has one document; a List's items add `items[i]`), or the YAML problems.
 */
export function documents(
  text: string,
): { docs: Array<{ doc: unknown; at: string }>; issues: ServiceIssue[] } {
  const all = YAML.parseAllDocuments(text);
  const docs: Array<{ doc: unknown; at: string }> = [];
  const issues: ServiceIssue[] = [];
  const values = all.map((d) => d.errors.length ? undefined : d.toJS() as unknown);
  const several = values.filter((v) => v !== null && v !== undefined).length +
      all.filter((d) => d.errors.length).length > 1;
  all.forEach((d, i) => {
    const at = several ? `[${i}]` : "";
    if (d.errors.length) {
      const reason = d.errors[0]!.message.split("\n")[0]!.replace(/:$/, "");
      issues.push({ path: at, message: `Invalid YAML: ${reason}` });
      return;
    }
    const v = values[i];
    if (v === null || v === undefined) return;
    // `kubectl get -o yaml` prints a List
    if (isObject(v) && v.kind === "List" && Array.isArray(v.items)) {
      v.items.forEach((doc, j) =>
        docs.push({ doc, at: underDocument(at, { path: `items[${j}]`, message: "" }).path })
      );
    } else docs.push({ doc: v, at });
  });
  return { docs, issues };
}

/** One decoded document: a Service or an EndpointSlice. */
export function parseServiceObject(
  doc: unknown,
  options: ServiceOptions,
): { ok: true; value: ServiceObject } | { ok: false; issues: ServiceIssue[] } {
  const kind = isObject(doc) ? doc.kind : undefined;
  if (kind === "Service") {
    const r = parseService(doc, options);
    return r.ok
      ? {
        ok: true,
        value: { kind, key: objectKey(r.value), manifest: doc as Obj, service: r.value },
      }
      : r;
  }
  if (kind === "EndpointSlice") {
    const r = parseEndpointSlice(doc);
    return r.ok
      ? { ok: true, value: { kind, key: objectKey(r.value), manifest: doc as Obj, slice: r.value } }
      : r;
  }
  return { ok: false, issues: [kindIssue(doc)] };
}

function kindIssue(doc: unknown): ServiceIssue {
  if (!isObject(doc)) return { path: "", message: "Must be an object (a manifest)" };
  return {
    path: "kind",
    message: `Must be "Service" or "EndpointSlice", got ${
      doc.kind === undefined ? "nothing" : quote(doc.kind)
    }`,
  };
}

/** Every document of a text, checked; a key twice in one text is an issue too. */
export function parseServiceText(text: string, options: ServiceOptions): ParsedText {
  const { docs, issues } = documents(text);
  const objects: ParsedText["objects"] = [];
  const seen = new Map<string, string>();
  for (const { doc, at: prefix } of docs) {
    const r = parseServiceObject(doc, options);
    if (!r.ok) {
      issues.push(...r.issues.map((x) => underDocument(prefix, x)));
      continue;
    }
    const id = `${r.value.kind} ${r.value.key}`;
    const other = seen.get(id);
    if (other !== undefined) {
      issues.push(underDocument(prefix, {
        path: "metadata.name",
        message: `${id} is also document ${other}`,
      }));
    }
    seen.set(id, prefix);
    objects.push({ ...r.value, at: prefix });
  }
  return { objects, issues };
}

/** The kind, namespace and name of a document (enough to delete it), or why not. */
export function objectRef(
  doc: unknown,
): { kind: ServiceKind; key: string } | ServiceIssue {
  if (!isObject(doc) || !(SERVICE_KINDS as readonly unknown[]).includes(doc.kind)) {
    return kindIssue(doc);
  }
  const meta = isObject(doc.metadata) ? doc.metadata : {};
  if (typeof meta.name !== "string" || meta.name === "") {
    return { path: "metadata.name", message: `Field "name" is required` };
  }
  const ns = typeof meta.namespace === "string" && meta.namespace !== ""
    ? meta.namespace
    : DEFAULT_NAMESPACE;
  return { kind: doc.kind as ServiceKind, key: objectKey({ namespace: ns, name: meta.name }) };
}
