// The services of a source that holds manifests as written (the local store: a manifest
// directory plus what the admin API applied), resolved into what the state tables hold: parsed
// services with their cluster IPs and node ports allocated, parsed slices, and the objects that
// were rejected with their problems. Pure and deterministic: the same manifests give the same
// result on every node.
//
// Order of precedence, so explicit values never move:
// 1. An object applied through the API replaces the directory's object of the same kind and key.
// 2. Values manifests set (cluster IPs, node ports) are claimed first: directory objects in key
//    order, then applied ones; a value two services set goes to the first, the other service is
//    rejected naming the holder.
// 3. Then services that leave values out get them allocated (allocate.ts), directory objects in
//    key order, then applied ones. Adding a directory service can therefore move the dynamic
//    addresses of services after it in key order: set spec.clusterIP (and nodePort) in the
//    manifests of services whose addresses must never move.
import { isObject, type Obj } from "./_fields.ts";
import { allocateService } from "./allocate.ts";
import { claimId, serviceClaims } from "./claims.ts";
import { DEFAULT_NAMESPACE } from "./metadata.ts";
import type { EndpointSlice, Service, ServiceIssue } from "./model.ts";
import type { ServiceOptions } from "./options.ts";
import { parseServiceObject, type ServiceKind, type ServiceObject } from "./text.ts";

export interface SourcedManifest {
  manifest: unknown;
  /** Where it came from, for the rejection: "svc.yaml document 2", "admin API". */
  source: string;
}

/** The shape of core/state's RejectedObject rows, keyed `<kind>/<namespace>/<name>`. */
export interface Rejection {
  kind: ServiceKind;
  namespace: string;
  name: string;
  source: string;
  issues: ServiceIssue[];
}

export interface ResolvedServices {
  /** By `<namespace>/<name>`; the manifest has every allocation written into it. */
  services: Map<string, { service: Service; manifest: Obj }>;
  slices: Map<string, EndpointSlice>;
  rejected: Map<string, Rejection>;
}

type Candidate = ServiceObject & { source: string; applied: boolean };

export function resolveServiceManifests(
  directory: SourcedManifest[],
  applied: SourcedManifest[],
  options: ServiceOptions,
): ResolvedServices {
  const out: ResolvedServices = { services: new Map(), slices: new Map(), rejected: new Map() };
  const reject = (m: SourcedManifest, issues: ServiceIssue[]) => {
    const r = rejection(m, issues);
    out.rejected.set(`${r.kind}/${r.namespace}/${r.name}`, r);
  };
  const chosen = new Map<string, Candidate>();
  for (const [isApplied, list] of [[false, directory], [true, applied]] as const) {
    for (const m of list) {
      const r = parseServiceObject(m.manifest, options);
      if (!r.ok) {
        reject(m, r.issues);
        continue;
      }
      const id = `${r.value.kind}/${r.value.key}`;
      const other = chosen.get(id);
      if (other && !other.applied && !isApplied) {
        reject(m, [{
          path: "metadata.name",
          message: `${r.value.kind} ${r.value.key} is defined twice: also in ${other.source}`,
        }]);
        continue;
      }
      chosen.set(id, { ...r.value, source: m.source, applied: isApplied });
    }
  }
  const byOrder = [...chosen.values()].sort((a, b) =>
    Number(a.applied) - Number(b.applied) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
  );
  for (const c of byOrder) if (c.kind === "EndpointSlice") out.slices.set(c.key, c.slice);
  const services = byOrder.filter((c) => c.kind === "Service");
  const usage = new Map<string, string>();
  const accepted: Candidate[] = [];
  for (const c of services) {
    const r = allocateService({ manifest: c.manifest, options, usage, fill: false });
    if (!r.ok) {
      reject(c, r.issues.map(({ path, message }) => ({ path, message })));
      continue;
    }
    for (const claim of r.claims) usage.set(claimId(claim), c.key);
    // a manifest that sets every value needs no second pass
    if (r.complete) out.services.set(c.key, { service: r.service, manifest: r.manifest });
    else accepted.push(c);
  }
  for (const c of accepted) {
    const r = allocateService({ manifest: c.manifest, options, usage });
    if (!r.ok) {
      reject(c, r.issues.map(({ path, message }) => ({ path, message })));
      continue;
    }
    for (const claim of serviceClaims(r.service)) usage.set(claimId(claim), c.key);
    out.services.set(c.key, { service: r.service, manifest: r.manifest });
  }
  return out;
}

function rejection(m: SourcedManifest, issues: ServiceIssue[]): Rejection {
  const doc = isObject(m.manifest) ? m.manifest : {};
  const meta = isObject(doc.metadata) ? doc.metadata : {};
  const text = (v: unknown, fallback: string) => typeof v === "string" && v ? v : fallback;
  return {
    kind: doc.kind === "EndpointSlice" ? "EndpointSlice" : "Service",
    namespace: text(meta.namespace, DEFAULT_NAMESPACE),
    name: text(meta.name, `(unnamed, ${m.source})`),
    source: m.source,
    issues,
  };
}
