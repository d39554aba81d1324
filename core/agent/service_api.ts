// The service operations behind the admin API and CLI: apply, delete and validate Service and
// EndpointSlice manifests — the API server's role for services. Apply is all-or-nothing: every
// problem of every document is reported (400), then every service's cluster IPs and node ports
// are allocated against what the cluster holds, and any conflict or full range is reported (409,
// naming the field and the other service) before anything is stored. Slices whose service does
// not exist are accepted (as in Kubernetes); the load balancer reports them.
//
// Stores take a service's claims atomically with it; when another node won a race for a value
// this node picked, the allocation is made again with that knowledge (values the manifest set
// itself are a 409). Should a later document of a request lose such a race for a value its
// manifest set, the earlier documents stay stored: the 409 lists what was applied.
import { ApiError, ValidationError } from "../api/errors.ts";
import {
  allocateService,
  type AllocationIssue,
  claimId,
  documents,
  objectRef,
  parseService,
  parseServiceText,
  type PreviousAllocation,
  ServiceClaimError,
  serviceClaims,
  type ServiceIssue,
  type ServiceObject,
  type ServiceOptions,
  underDocument,
  usageOf,
} from "../service/mod.ts";
import type { State } from "../state/mod.ts";
import type { ClusterStore } from "../store/store.ts";

/** Rounds of re-allocation after losing races to other nodes, per service. */
const MAX_RACES = 5;

/** The manifests have problems: a 400 listing every issue with its field path. */
export class ServicesRejectedError extends ApiError {
  constructor(readonly issues: ServiceIssue[]) {
    super(400, "invalid", `Rejected: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`);
    this.details = { issues };
  }
}

/** Valid manifests the cluster cannot take (a value another service holds, a full range). */
export class ServicesConflictError extends ApiError {
  constructor(readonly issues: AllocationIssue[], applied: string[] = []) {
    super(
      409,
      "conflict",
      `Not applied: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}` +
        (applied.length ? ` (applied before the conflict: ${applied.join(", ")})` : ""),
    );
    this.details = { issues, applied };
  }
}

export interface ServiceApiContext {
  store: ClusterStore;
  state: State;
  options: ServiceOptions;
}

/** Offline checks: every problem of every document, no allocation. */
export function validateServiceText(text: string, options: ServiceOptions): ServiceIssue[] {
  return parseServiceText(text, options).issues;
}

export interface AppliedService {
  key: string;
  clusterIPs: string[];
  ports: Array<{ name: string; protocol: string; port: number; nodePort?: number }>;
  healthCheckNodePort?: number;
}

export async function applyServices(
  ctx: ServiceApiContext,
  text: string,
): Promise<{ applied: string[]; services: AppliedService[]; revision: number }> {
  const { objects, issues } = parseServiceText(text, ctx.options);
  if (issues.length) throw new ServicesRejectedError(issues);
  if (objects.length === 0) throw new ValidationError("No manifest in the request");
  const usage = new Map(usageOf(ctx.state.services.list().map((r) => r.service)));
  const plans: Array<Plan> = [];
  const conflicts: AllocationIssue[] = [];
  for (const o of objects) {
    if (o.kind !== "Service") continue;
    const previous = await previousOf(ctx, o.key);
    const a = allocateService({ manifest: o.manifest, options: ctx.options, usage, previous });
    if (!a.ok) {
      conflicts.push(...a.issues.map((i) => ({ ...i, ...underDocument(o.at, i) })));
      continue;
    }
    hold(usage, o.key, a.service);
    plans.push({ object: o, previous, manifest: a.manifest, service: a.service });
  }
  if (conflicts.length) throw new ServicesConflictError(conflicts);

  const applied: string[] = [];
  const services: AppliedService[] = [];
  let revision = 0;
  for (const o of objects) {
    if (o.kind === "EndpointSlice") {
      revision = await ctx.store.putEndpointSlice(o.key, o.manifest);
    } else {
      const plan = plans.find((p) => p.object === o)!;
      revision = await putService(ctx, plan, usage, applied);
      services.push(summary(o.key, plan.service));
    }
    applied.push(`${o.kind}/${o.key}`);
  }
  return { applied, services, revision };
}

interface Plan {
  object: ServiceObject & { at: string };
  previous: PreviousAllocation | undefined;
  manifest: unknown;
  service: PreviousAllocation;
}

/** Stores a planned service, allocating again when another node took a value first. */
async function putService(
  ctx: ServiceApiContext,
  plan: Plan,
  usage: Map<string, string>,
  applied: string[],
): Promise<number> {
  const { object: o } = plan;
  for (let race = 0;; race++) {
    try {
      return await ctx.store.putService(o.key, plan.manifest);
    } catch (err) {
      if (!(err instanceof ServiceClaimError) || race === MAX_RACES) throw err;
      for (const c of err.conflicts) usage.set(claimId(c.claim), c.holder);
      const a = allocateService({
        manifest: o.manifest,
        options: ctx.options,
        usage,
        previous: plan.previous,
      });
      if (!a.ok) {
        throw new ServicesConflictError(
          a.issues.map((i) => ({ ...i, ...underDocument(o.at, i) })),
          applied,
        );
      }
      hold(usage, o.key, a.service);
      plan.manifest = a.manifest;
      plan.service = a.service;
    }
  }
}

/** What the service held before: the store's copy, else the table's. */
async function previousOf(
  ctx: ServiceApiContext,
  key: string,
): Promise<PreviousAllocation | undefined> {
  const stored = await ctx.store.storedService(key);
  const parsed = stored === undefined ? undefined : parseService(stored, ctx.options);
  if (parsed?.ok) return parsed.value;
  return ctx.state.services.get(key)?.service;
}

/** `key` holds exactly what `service` claims (later documents of the request see it). */
function hold(usage: Map<string, string>, key: string, service: PreviousAllocation): void {
  for (const [id, owner] of usage) if (owner === key) usage.delete(id);
  for (const c of serviceClaims(service)) usage.set(claimId(c), key);
}

function summary(key: string, s: PreviousAllocation): AppliedService {
  return {
    key,
    clusterIPs: s.clusterIPs,
    ports: s.ports.map((p) => ({
      name: p.name,
      protocol: p.protocol,
      port: p.port,
      ...(p.nodePort === undefined ? {} : { nodePort: p.nodePort }),
    })),
    ...(s.healthCheckNodePort === undefined ? {} : { healthCheckNodePort: s.healthCheckNodePort }),
  };
}

export async function deleteServices(
  ctx: ServiceApiContext,
  text: string,
): Promise<{ deleted: string[]; missing: string[]; revision?: number }> {
  const { docs, issues } = documents(text);
  const refs = docs.map(({ doc, at }) => {
    const ref = objectRef(doc);
    if ("path" in ref) issues.push(underDocument(at, ref));
    return ref;
  });
  if (issues.length) throw new ServicesRejectedError(issues);
  if (refs.length === 0) throw new ValidationError("No manifest in the request");
  const out: { deleted: string[]; missing: string[]; revision?: number } = {
    deleted: [],
    missing: [],
  };
  for (const ref of refs) {
    if ("path" in ref) continue;
    const r = ref.kind === "Service"
      ? await ctx.store.deleteService(ref.key)
      : await ctx.store.deleteEndpointSlice(ref.key);
    const name = `${ref.kind}/${ref.key}`;
    if (r === undefined) out.missing.push(name);
    else {
      out.deleted.push(name);
      out.revision = r;
    }
  }
  return out;
}
