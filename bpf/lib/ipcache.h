/* ipcache.h — every known IP/prefix of the cluster: its security identity and the node that
 * owns it.
 *
 * Contract: the agent owns hypha_ipcache (desired state from the cluster store). Longest prefix
 * match over (family, address): prefixlen counts the 32 bits of family+pad plus the address
 * prefix. tunnel_ipv4 is the owning node's underlay address in network order, 0 for this node
 * and for addresses outside the cluster.
 */
#ifndef HYPHA_IPCACHE_H
#define HYPHA_IPCACHE_H

#include "common.h"
#include "identity.h"

#ifndef HYPHA_IPCACHE_SIZE
#define HYPHA_IPCACHE_SIZE 131072
#endif

struct ipcache_key {
	__u32 prefixlen;
	__u8 family; /* 4 or 6 */
	__u8 pad[3];
	__u32 addr[4];
};

#define IPCACHE_F_LOCAL 0x1    /* an endpoint on this node */
#define IPCACHE_F_ENDPOINT 0x2 /* a workload endpoint (pod) anywhere in the cluster */
#define IPCACHE_F_POD_CIDR 0x4 /* a node's pod CIDR: cluster-internal, never masqueraded */
#define IPCACHE_F_NODE 0x8     /* a node address */

struct ipcache_value {
	__u32 identity;
	__u32 tunnel_ipv4;
	__u32 flags; /* IPCACHE_F_* */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct ipcache_key);
	__type(value, struct ipcache_value);
	__uint(max_entries, HYPHA_IPCACHE_SIZE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} hypha_ipcache SEC(".maps");

#define IPCACHE_PREFIX_BASE 32 /* family + pad */

__always_inline_hypha struct ipcache_value *ipcache_lookup(const __u32 addr[4], __u8 family)
{
	struct ipcache_key key = {
		.prefixlen = IPCACHE_PREFIX_BASE + (family == 4 ? 32 : 128),
		.family = family,
	};
	key.addr[0] = addr[0];
	key.addr[1] = addr[1];
	key.addr[2] = addr[2];
	key.addr[3] = addr[3];
	return bpf_map_lookup_elem(&hypha_ipcache, &key);
}

/* The identity of an address: the ipcache's, else the world of its family. */
__always_inline_hypha __u32 identity_of(const __u32 addr[4], __u8 family)
{
	struct ipcache_value *v = ipcache_lookup(addr, family);
	if (v)
		return v->identity;
	return family == 4 ? IDENTITY_WORLD_IPV4 : IDENTITY_WORLD_IPV6;
}

#endif /* HYPHA_IPCACHE_H */
