/* identity.h — reserved security identities, with the numbers operators know from Cilium.
 *
 * Contract: numbers below HYPHA_IDENTITY_FIRST_ALLOCATED are reserved; workload identities are
 * allocated cluster-wide by the agent from HYPHA_IDENTITY_FIRST_ALLOCATED up and must fit the
 * 24-bit VXLAN VNI that carries the source identity between nodes.
 * Consumers: core/identity (TypeScript names, via the generated enum), bpf/lib/deliver.h.
 */
#ifndef HYPHA_IDENTITY_H
#define HYPHA_IDENTITY_H

enum hypha_reserved_identity {
	IDENTITY_UNKNOWN = 0,
	IDENTITY_HOST = 1,
	IDENTITY_WORLD = 2,
	IDENTITY_UNMANAGED = 3,
	IDENTITY_HEALTH = 4,
	IDENTITY_INIT = 5,
	IDENTITY_REMOTE_NODE = 6,
	IDENTITY_KUBE_APISERVER = 7,
	IDENTITY_INGRESS = 8,
	IDENTITY_WORLD_IPV4 = 9,
	IDENTITY_WORLD_IPV6 = 10,
};

#define HYPHA_IDENTITY_FIRST_ALLOCATED 256
#define HYPHA_IDENTITY_MAX 0xffffff /* VNI is 24 bits */

/* Keeps the enum in the object's BTF for the code generator. */
const volatile enum hypha_reserved_identity hypha_identity_btf_anchor = IDENTITY_UNKNOWN;

#endif /* HYPHA_IDENTITY_H */
