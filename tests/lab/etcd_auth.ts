// etcd's RBAC for a lab (and, as commands, for an operator): a root user, and per node a user
// with a role that may read the cluster's keys but write only its own node record and endpoints,
// plus the shared prefixes every node writes (pod CIDR claims, identities) and those its API
// writes (services and their claims, endpoint slices, policies). See README "etcd: TLS and
// per-node credentials" for what etcd cannot narrow further.

/** One permission of a node's role: `etcdctl role grant-permission ROLE <perm> <key> [--prefix]`. */
export interface Permission {
  perm: "read" | "readwrite";
  key: string;
  prefix: boolean;
}

/** The permissions of node `node` under the cluster's key base (`<prefix>/<cluster>/`). */
export function nodePermissions(base: string, node: string): Permission[] {
  const rw = (key: string, prefix = true): Permission => ({ perm: "readwrite", key, prefix });
  return [
    { perm: "read", key: base, prefix: true },
    rw(`${base}nodes/${node}`, false), // exactly its record: a prefix would also match n10
    rw(`${base}endpoints/${node}/`),
    // Shared: which CIDR or identity a node takes is decided by compare-and-swap, not by key.
    rw(`${base}podcidrs/`),
    rw(`${base}identities/`),
    // Written through the node's API (hypha apply): leave out for nodes that do not serve it.
    ...["services/", "serviceips/", "nodeports/", "endpointslices/", "policies/"].map((p) =>
      rw(`${base}${p}`)
    ),
  ];
}

/** etcdctl arguments that create node `node`'s user and role. */
export function nodeUserCommands(base: string, node: string, password: string): string[][] {
  const role = `hypha-node-${node}`;
  return [
    ["user", "add", `${node}:${password}`],
    ["role", "add", role],
    ...nodePermissions(base, node).map((p) => [
      "role",
      "grant-permission",
      role,
      p.perm,
      p.key,
      ...(p.prefix ? ["--prefix=true"] : []),
    ]),
    ["user", "grant-role", node, role],
  ];
}

/**
 * Turns etcd auth on: a root user (etcdctl keeps working through its client certificate, whose
 * common name is "root") and a user per node with the password given. Returns nothing secret.
 */
export async function enableEtcdAuth(
  etcdctl: (args: string[]) => Promise<string>,
  base: string,
  passwords: ReadonlyMap<string, string>,
): Promise<void> {
  await etcdctl(["user", "add", `root:${randomPassword()}`]);
  await etcdctl(["user", "grant-role", "root", "root"]);
  for (const [node, password] of passwords) {
    for (const args of nodeUserCommands(base, node, password)) await etcdctl(args);
  }
  await etcdctl(["auth", "enable"]);
}

export function randomPassword(): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(16)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}
