// The policy operations behind the admin API and CLI: apply, delete, validate and list policy
// manifests, show an endpoint's computed policy, and trace a verdict. Apply is all-or-nothing:
// any problem in any document rejects the request and the policy in force stays as it was.
import YAML from "yaml";
import { ApiError, NotFoundError, ValidationError } from "../api/errors.ts";
import { parseCidr, parseIp } from "../ipam/mod.ts";
import { RESERVED_IDENTITIES } from "../bpf/generated/identities.ts";
import {
  computeEndpointPolicy,
  type DirectionPolicy,
  type EndpointPolicy,
  IPPROTO,
  type PolicyEntry,
  verdictFor,
} from "../policy/compute.ts";
import type { PolicyIssue } from "../policy/model.ts";
import { manifestKey, parseManifestText } from "../policy/parse/mod.ts";
import { identityLabels } from "../identity/labels.ts";
import { policyKey, type State } from "../state/mod.ts";
import type { ClusterStore } from "../store/store.ts";
import { type PolicyEnforcer, ruleText } from "./policy_enforcer.ts";

/** Apply/validate found problems: a 400 that lists every issue with its field path. */
export class PolicyRejectedError extends ApiError {
  constructor(readonly issues: PolicyIssue[]) {
    super(
      400,
      "invalid",
      `Policy rejected: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`,
    );
    this.details = { issues };
  }
}

function documents(text: string): unknown[] {
  const docs: unknown[] = [];
  for (const d of YAML.parseAllDocuments(text)) {
    if (d.errors.length) throw new ValidationError(`Invalid YAML: ${d.errors[0]!.message}`);
    const v = d.toJS();
    if (v !== null && v !== undefined) docs.push(v);
  }
  return docs;
}

export function validatePolicyText(text: string, file = "request"): PolicyIssue[] {
  return parseManifestText(text, file).issues;
}

export async function applyPolicies(
  store: ClusterStore,
  text: string,
): Promise<{ applied: string[]; revision: number }> {
  const issues = validatePolicyText(text);
  if (issues.length) throw new PolicyRejectedError(issues);
  const docs = documents(text);
  if (docs.length === 0) throw new ValidationError("No manifest in the request");
  const keys = docs.map((d) => {
    const k = manifestKey(d);
    if ("path" in k) throw new PolicyRejectedError([k]);
    return policyKey(k);
  });
  let revision = 0;
  for (const [i, doc] of docs.entries()) revision = await store.putPolicy(keys[i]!, doc);
  return { applied: keys, revision };
}

export async function deletePolicies(
  store: ClusterStore,
  text: string,
): Promise<{ deleted: string[]; missing: string[]; revision: number }> {
  const out = { deleted: [] as string[], missing: [] as string[], revision: store.policyRevision };
  for (const doc of documents(text)) {
    const k = manifestKey(doc);
    if ("path" in k) throw new PolicyRejectedError([k]);
    const key = policyKey(k);
    const r = await store.deletePolicy(key);
    if (r === undefined) out.missing.push(key);
    else {
      out.deleted.push(key);
      out.revision = r;
    }
  }
  return out;
}

function describeEntry(e: PolicyEntry, state: State) {
  const proto = Object.entries(IPPROTO).find(([, n]) => n === e.protocol)?.[0] ??
    String(e.protocol);
  const size = 2 ** (16 - e.bits);
  const ports = e.protocol === 0
    ? "any"
    : e.protocol === IPPROTO.ICMP || e.protocol === IPPROTO.ICMPv6
    ? `type ${e.port >> 8}`
    : size === 65536
    ? "all"
    : size === 1
    ? String(e.port)
    : `${e.port}-${e.port + size - 1}`;
  return {
    peer: e.identity === 0 ? "any" : e.identity,
    peerLabels: e.identity === 0 ? undefined : state.identities.get(String(e.identity))?.labels,
    protocol: e.protocol === 0 ? "ANY" : proto,
    ports,
    verdict: e.deny ? (e.audit ? "deny (audit)" : "deny") : "allow",
    rule: ruleText(e.rule),
  };
}

export function describePolicy(p: EndpointPolicy | undefined, state: State) {
  if (!p) return null;
  const dir = (d: DirectionPolicy) => ({
    enforced: d.enforced,
    audit: d.audit,
    entries: d.entries.map((e) => describeEntry(e, state)),
  });
  return {
    selectedBy: p.selectedBy.map((r) => `${r.kind}/${r.namespace ?? ""}/${r.name}`),
    ingress: dir(p.ingress),
    egress: dir(p.egress),
  };
}

/**
 * Explains the verdict for a connection from a pod to a pod or an address: the source's egress
 * policy, then the destination's ingress policy, each with the rule that decided.
 */
export function tracePolicy(
  enforcer: PolicyEnforcer,
  state: State,
  cluster: string,
  q: { from: string; to: string; port: string },
) {
  const m = /^(\d+)\/(TCP|UDP|SCTP)$|^(ICMP)$/i.exec(q.port);
  if (!m) {
    throw new ValidationError(`port "${q.port}" must be N/TCP, N/UDP, N/SCTP or ICMP`, "port");
  }
  const proto = (m[2] ?? m[3])!.toUpperCase() as "TCP" | "UDP" | "SCTP" | "ICMP";
  const protocol: number = IPPROTO[proto];
  const port = m[1] ? Number(m[1]) : 8 << 8;
  const pod = (key: string, field: string) => {
    const [ns, name] = key.split("/");
    const ep = state.endpoints.list().find((e) => e.namespace === ns && e.pod === name);
    if (!ep) throw new NotFoundError(`${field} "${key}": no such pod (see hypha endpoint list)`);
    return ep;
  };
  const inputs = enforcer.inputs();
  const subject = (ep: ReturnType<typeof pod>) => ({
    identity: ep.identity,
    labels: state.identities.get(String(ep.identity))?.labels ?? identityLabels({
      namespace: ep.namespace,
      labels: ep.labels,
      cluster,
    }),
    namedPorts: ep.namedPorts ?? {},
  });
  const from = pod(q.from, "from");
  const toPod = q.to.includes("/") && !/^[\d.:a-f]+\/\d+$/i.test(q.to)
    ? pod(q.to, "to")
    : undefined;
  let toIdentity: number;
  if (toPod) toIdentity = toPod.identity;
  else {
    let ip;
    try {
      ip = parseIp(q.to.replace(/\/\d+$/, ""));
    } catch {
      throw new ValidationError(`to "${q.to}" must be NS/POD or an IP address`, "to");
    }
    const cidr = inputs.identities.filter((i) => i.cidr && parseCidr(i.cidr).contains(ip))
      .sort((a, b) => parseCidr(b.cidr!).prefixLength - parseCidr(a.cidr!).prefixLength)[0];
    toIdentity = cidr?.id ??
      RESERVED_IDENTITIES[ip.family === 4 ? "world-ipv4" : "world-ipv6"];
  }
  const show = (v: ReturnType<typeof verdictFor>) => ({
    verdict: v.verdict,
    decidedBy: typeof v.by === "string" ? v.by : ruleText(v.by.rule),
  });
  const egress = verdictFor(
    computeEndpointPolicy(subject(from), inputs).egress,
    toIdentity,
    protocol,
    port,
  );
  const ingress = toPod
    ? verdictFor(
      computeEndpointPolicy(subject(toPod), inputs).ingress,
      from.identity,
      protocol,
      port,
    )
    : undefined;
  const denied = egress.verdict === "denied" || ingress?.verdict === "denied";
  const audited = egress.verdict === "audit" || ingress?.verdict === "audit";
  return {
    from: { pod: q.from, identity: from.identity },
    to: { target: q.to, identity: toIdentity },
    port: q.port,
    verdict: denied ? "denied" : audited ? "audit" : "allowed",
    egress: show(egress),
    ingress: ingress ? show(ingress) : null,
  };
}
