// Kubernetes-shaped manifests of the local store: multi-document YAML files in one directory.
// Node (spec.podCIDR(s), status.addresses), Namespace (labels) and Pod (labels, service account)
// are used; other kinds are kept for the features that read them (Service and EndpointSlice,
// policies).
import { join } from "node:path";
import YAML from "yaml";

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  /** file:document where it came from, for error messages */
  source: string;
  /** The whole document as decoded (Services and EndpointSlices are parsed from it). */
  document: Record<string, unknown>;
}

export class ManifestError extends Error {
  override name = "ManifestError";
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * The documents of a file: YAML (several, separated by `---`), or, for a `.json` file, JSON: one
 * object, an array of them or a `List` (what `kubectl get -o json` prints). JSON is read with
 * JSON.parse, about a hundred times faster than the YAML parser: the format for tens of
 * thousands of objects.
 */
function documentsOf(text: string, file: string): unknown[] {
  if (file.endsWith(".json")) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new ManifestError(`${file}: invalid JSON: ${(err as Error).message}`);
    }
    if (Array.isArray(value)) return value;
    if (isObject(value) && value.kind === "List" && Array.isArray(value.items)) return value.items;
    return [value];
  }
  return YAML.parseAllDocuments(text).map((doc, i) => {
    if (doc.errors.length) {
      throw new ManifestError(
        `${file} document ${i + 1}: invalid YAML: ${doc.errors[0]!.message}`,
      );
    }
    return doc.toJSON();
  });
}

/** Parses one file's documents; every problem names the file, document and field. */
export function parseManifests(text: string, file: string): Manifest[] {
  const out: Manifest[] = [];
  for (const [i, value] of documentsOf(text, file).entries()) {
    const where = `${file} document ${i + 1}`;
    if (value === null || value === undefined) continue;
    if (!isObject(value)) throw new ManifestError(`${where}: must be a mapping`);
    for (const field of ["apiVersion", "kind"]) {
      if (typeof value[field] !== "string" || !value[field]) {
        throw new ManifestError(`${where}: field "${field}" is required`);
      }
    }
    const meta = value.metadata;
    if (!isObject(meta) || typeof meta.name !== "string" || !meta.name) {
      throw new ManifestError(`${where}: field "metadata.name" is required`);
    }
    if (meta.labels !== undefined) {
      if (!isObject(meta.labels) || Object.values(meta.labels).some((v) => typeof v !== "string")) {
        throw new ManifestError(`${where}: field "metadata.labels" must map strings to strings`);
      }
    }
    out.push({
      apiVersion: value.apiVersion as string,
      kind: value.kind as string,
      metadata: meta as Manifest["metadata"],
      ...(isObject(value.spec) ? { spec: value.spec } : {}),
      ...(isObject(value.status) ? { status: value.status } : {}),
      source: where,
      document: value,
    });
  }
  return out;
}

/** Every manifest of a directory (*.yaml, *.yml, *.json), files in name order. */
export async function readManifestDir(dir: string): Promise<Manifest[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && /\.(ya?ml|json)$/.test(e.name)) names.push(e.name);
    }
  } catch (err) {
    throw new ManifestError(`Cannot read manifest directory "${dir}": ${(err as Error).message}`);
  }
  const out: Manifest[] = [];
  for (const name of names.sort()) {
    out.push(...parseManifests(await Deno.readTextFile(join(dir, name)), name));
  }
  return out;
}

/** A Node manifest's pod CIDRs (spec.podCIDRs, else spec.podCIDR) and InternalIP addresses. */
export function nodeOf(m: Manifest): { podCIDRs: string[]; addresses: string[] } {
  const spec = m.spec ?? {};
  const cidrs = Array.isArray(spec.podCIDRs)
    ? spec.podCIDRs.filter((c): c is string => typeof c === "string")
    : typeof spec.podCIDR === "string"
    ? [spec.podCIDR]
    : [];
  const addrs = Array.isArray(m.status?.addresses) ? m.status.addresses : [];
  const addresses = addrs.filter((a): a is { type: string; address: string } =>
    isObject(a) && a.type === "InternalIP" && typeof a.address === "string"
  ).map((a) => a.address);
  return { podCIDRs: cidrs, addresses };
}
