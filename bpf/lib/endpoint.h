/* endpoint.h — the local endpoints (pods) of this node, keyed by address.
 *
 * Contract: the agent owns hypha_endpoints (one entry per pod address, IPv4 and IPv6); the
 * datapath only reads it. An IPv4 address occupies addr[0] (network order), addr[1..3] are zero.
 * ifindex is the host side of the pod's veth; mac is the pod's interface, node_mac the host side.
 */
#ifndef HYPHA_ENDPOINT_H
#define HYPHA_ENDPOINT_H

#include "common.h"

#ifndef HYPHA_MAX_ENDPOINTS
#define HYPHA_MAX_ENDPOINTS 16384
#endif

struct endpoint_key {
	__u32 addr[4];
	__u8 family; /* 4 or 6 */
	__u8 pad[3];
};

#define ENDPOINT_F_ENFORCE_INGRESS 0x2 /* policy applies to traffic towards the endpoint */
#define ENDPOINT_F_ENFORCE_EGRESS 0x4  /* policy applies to traffic from the endpoint */
#define ENDPOINT_F_AUDIT_INGRESS 0x8   /* ingress verdicts are counted, never enforced */
#define ENDPOINT_F_AUDIT_EGRESS 0x10

struct endpoint_info {
	__u32 ifindex;
	__u32 id;       /* endpoint id (stable per pod, shown by `hypha endpoint list`) */
	__u32 identity; /* security identity */
	__u32 flags;    /* ENDPOINT_F_* */
	__u8 mac[6];
	__u8 node_mac[6];
	__u8 policy_generation; /* which hypha_policy generation is active (policy.h) */
	__u8 pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct endpoint_key);
	__type(value, struct endpoint_info);
	__uint(max_entries, HYPHA_MAX_ENDPOINTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} hypha_endpoints SEC(".maps");

__always_inline_hypha struct endpoint_info *lookup_endpoint(const __u32 addr[4], __u8 family)
{
	struct endpoint_key key = { .family = family };
	key.addr[0] = addr[0];
	key.addr[1] = addr[1];
	key.addr[2] = addr[2];
	key.addr[3] = addr[3];
	return bpf_map_lookup_elem(&hypha_endpoints, &key);
}

#endif /* HYPHA_ENDPOINT_H */
