// CiliumCIDRGroup (cluster-wide): a named list of external CIDRs that `cidrGroupRef` peers of
// Cilium policies expand to when policy is computed.
import type { CidrGroup } from "../model.ts";
import { parseCidrField } from "./cidr.ts";
import { child, type Issues, item } from "./issues.ts";
import type { Metadata } from "./metadata.ts";
import { asList, field, type Obj, readSpec } from "./read.ts";

export function parseCidrGroup(
  obj: Obj,
  meta: Metadata,
  path: string,
  issues: Issues,
): CidrGroup | undefined {
  const before = issues.count;
  const spec = readSpec(obj, path, issues, ["externalCIDRs"]);
  if (!spec) return undefined;
  const specPath = child(path, "spec");
  const listPath = child(specPath, "externalCIDRs");
  const listV = field(spec, "externalCIDRs");
  if (listV === undefined) issues.add(listPath, `Field "externalCIDRs" is required`);
  const list = listV === undefined ? [] : asList(listV, listPath, issues) ?? [];
  const cidrs: string[] = [];
  list.forEach((x, i) => {
    const cidr = parseCidrField(x, item(listPath, i), issues);
    if (cidr && !cidrs.includes(cidr.toString())) cidrs.push(cidr.toString());
  });
  return issues.count === before ? { name: meta.name, cidrs } : undefined;
}
