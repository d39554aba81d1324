// What the kernel keeps about an endpoint beside its endpoint file: the host-side veth's alias
// (IFLA_IFALIAS) names the endpoint id, the container attachment, the pod's namespace path and
// the pod. It lives and dies with the veth, so when the endpoint file is damaged the agent can
// still tell which pod a veth belongs to and rebuild the endpoint (rebuild.ts) instead of
// deleting a running pod's network.

/** The kernel keeps at most 255 bytes of an alias (IFALIASZ - 1). */
export const MAX_ALIAS_BYTES = 255;
const TAG = "hypha-ep/1";

export interface KernelRecord {
  id: number;
  containerId: string;
  ifname: string;
  /** Left out when the alias would be too long. */
  netns?: string;
  namespace?: string;
  pod?: string;
}

const bytes = (s: string) => new TextEncoder().encode(s).length;

/**
 * The alias text: a JSON array, tag first. Trailing fields (pod, namespace, netns) are dropped
 * until it fits in 255 bytes; undefined when even id, container id and interface name do not
 * (a container id of over 220 characters: that endpoint has no kernel record).
 */
export function encodeKernelRecord(r: KernelRecord): string | undefined {
  const fields: Array<string | number> = [
    TAG,
    r.id,
    r.containerId,
    r.ifname,
    r.netns ?? "",
    r.namespace ?? "",
    r.pod ?? "",
  ];
  while (fields.length > 4 && bytes(JSON.stringify(fields)) > MAX_ALIAS_BYTES) fields.pop();
  const text = JSON.stringify(fields);
  return bytes(text) > MAX_ALIAS_BYTES ? undefined : text;
}

/** The record in an alias, or undefined when the alias is not one of hypha's. */
export function decodeKernelRecord(alias: string): KernelRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(alias);
  } catch {
    return undefined;
  }
  if (!Array.isArray(v) || v[0] !== TAG) return undefined;
  const [, id, containerId, ifname, netns, namespace, pod] = v;
  if (!Number.isInteger(id) || id < 1 || id > 65535) return undefined;
  if (typeof containerId !== "string" || !containerId) return undefined;
  if (typeof ifname !== "string" || !ifname) return undefined;
  const text = (x: unknown) => typeof x === "string" && x !== "";
  return {
    id,
    containerId,
    ifname,
    ...(text(netns) ? { netns } : {}),
    ...(text(namespace) ? { namespace } : {}),
    ...(text(pod) ? { pod } : {}),
  };
}
