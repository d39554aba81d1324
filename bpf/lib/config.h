/* config.h — node-wide datapath settings the agent writes (one entry, desired state).
 *
 * Contract: hypha_config[0] is written by the agent before it attaches endpoint programs;
 * until then (all zero) the programs forward nothing themselves and hand every packet to the
 * kernel stack. Addresses are in network byte order, ports in host byte order.
 */
#ifndef HYPHA_CONFIG_H
#define HYPHA_CONFIG_H

#include "common.h"

#define CONFIG_F_ENABLED 0x1     /* the agent configured the datapath */
#define CONFIG_F_TUNNEL 0x2      /* cross-node traffic goes through the VXLAN device */
#define CONFIG_F_MASQUERADE 0x4  /* pod traffic leaving the cluster is SNATed to node_ipv4 */
#define CONFIG_F_HOST_ROUTING 0x8 /* native routing: FIB lookup + redirect, not the host stack */

struct node_config {
	__u32 flags;          /* CONFIG_F_* */
	__u32 node_ipv4;      /* network order: tunnel source and masquerade address */
	__u32 tunnel_ifindex; /* the VXLAN device in collect-metadata mode (tunnel mode) */
	__u16 nat_port_min;   /* host order: ports masquerade may allocate, inclusive */
	__u16 nat_port_max;
	__u32 node_ipv6[4];   /* network order */
	__u8 monitor_level;   /* enum monitor_level (trace.h): which flow events the datapath emits */
	__u8 pad;
	__u16 monitor_interval; /* seconds between reports of a long connection (0: none) */
	__u32 drop_events;    /* drop events per second and CPU at most (0: no drop events) */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct node_config);
	__uint(max_entries, 1);
} hypha_config SEC(".maps");

__always_inline_hypha struct node_config *node_config(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&hypha_config, &zero);
}

/* The node config once the agent has enabled forwarding; NULL means: pass everything. */
__always_inline_hypha struct node_config *enabled_config(void)
{
	struct node_config *cfg = node_config();
	return cfg && (cfg->flags & CONFIG_F_ENABLED) ? cfg : NULL;
}

#endif /* HYPHA_CONFIG_H */
