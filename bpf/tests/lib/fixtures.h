/* fixtures.h — filling the datapath's maps from SETUP programs: node config, endpoints and
 * ipcache entries. Addresses are given in host byte order (0x0a000110 = 10.0.1.16), as pktgen
 * takes them; they are stored in network order as the datapath expects.
 */
#ifndef HYPHA_FIXTURES_H
#define HYPHA_FIXTURES_H

#include "common.h"
#include "config.h"
#include "endpoint.h"
#include "ipcache.h"
#include "policy.h"

#define NODE_IP 0xc0a8000b     /* 192.168.0.11: this node */
#define REMOTE_NODE 0xc0a8000c /* 192.168.0.12 */
#define TUNNEL_IFINDEX 77
#define NAT_MIN 61000
#define NAT_MAX 61010

static __always_inline void set_config(__u32 flags)
{
	__u32 zero = 0;
	struct node_config cfg = {
		.flags = CONFIG_F_ENABLED | flags,
		.node_ipv4 = bpf_htonl(NODE_IP),
		.tunnel_ifindex = TUNNEL_IFINDEX,
		.nat_port_min = NAT_MIN,
		.nat_port_max = NAT_MAX,
	};
	bpf_map_update_elem(&hypha_config, &zero, &cfg, BPF_ANY);
}

/* An IPv4 endpoint whose pod MAC ends in `tag` and whose host-side veth MAC ends in tag+1. */
static __always_inline void add_endpoint4(__u32 ip, __u32 ifindex, __u32 identity, __u8 tag)
{
	struct endpoint_key key = { .family = 4 };
	key.addr[0] = bpf_htonl(ip);
	struct endpoint_info ep = { .ifindex = ifindex, .id = tag, .identity = identity };
	ep.mac[0] = 0x0a;
	ep.mac[5] = tag;
	ep.node_mac[0] = 0x0e;
	ep.node_mac[5] = tag + 1;
	bpf_map_update_elem(&hypha_endpoints, &key, &ep, BPF_ANY);
}

static __always_inline void add_endpoint6(const __u32 ip[4], __u32 ifindex, __u32 identity,
					  __u8 tag)
{
	struct endpoint_key key = { .family = 6 };
	for (int i = 0; i < 4; i++)
		key.addr[i] = bpf_htonl(ip[i]);
	struct endpoint_info ep = { .ifindex = ifindex, .id = tag, .identity = identity };
	ep.mac[0] = 0x0a;
	ep.mac[5] = tag;
	ep.node_mac[0] = 0x0e;
	ep.node_mac[5] = tag + 1;
	bpf_map_update_elem(&hypha_endpoints, &key, &ep, BPF_ANY);
}

static __always_inline void add_ipcache4(__u32 prefix, __u32 len, __u32 identity, __u32 node,
					 __u32 flags)
{
	struct ipcache_key key = { .prefixlen = IPCACHE_PREFIX_BASE + len, .family = 4 };
	key.addr[0] = bpf_htonl(prefix);
	struct ipcache_value v = {
		.identity = identity,
		.tunnel_ipv4 = node ? bpf_htonl(node) : 0,
		.flags = flags,
	};
	bpf_map_update_elem(&hypha_ipcache, &key, &v, BPF_NOEXIST);
}

/* Sets an endpoint's policy flags and active generation (the endpoint must exist). */
static __always_inline void set_endpoint_policy(__u32 ip, __u32 flags, __u8 generation)
{
	struct endpoint_key key = { .family = 4 };
	key.addr[0] = bpf_htonl(ip);
	struct endpoint_info *ep = bpf_map_lookup_elem(&hypha_endpoints, &key);
	if (ep) {
		ep->flags = flags;
		ep->policy_generation = generation;
	}
}

/* A policy entry; `port_bits` < 0 means every protocol (then protocol and port are ignored). */
static __always_inline void add_policy(__u16 endpoint, __u8 generation, __u8 direction,
				       __u32 identity, __u8 protocol, __u16 port, int port_bits,
				       __u32 flags)
{
	struct policy_key key = {
		.prefixlen = port_bits < 0 ? POLICY_PREFIX_FIXED : POLICY_PREFIX_PROTO + port_bits,
		.endpoint = endpoint,
		.generation = generation,
		.direction = direction,
		.identity = identity,
		.protocol = port_bits < 0 ? 0 : protocol,
		.dport = port_bits < 0 ? 0 : bpf_htons(port),
	};
	struct policy_entry v = { .flags = flags, .rule = 7 };
	bpf_map_update_elem(&hypha_policy, &key, &v, BPF_ANY);
}

/* Reads 4/2/1 bytes of the checked packet (offset within the packet, after the verdict). */
static __always_inline __u32 pkt_u32(struct __sk_buff *ctx, __u32 off)
{
	__u32 v = 0;
	bpf_skb_load_bytes(ctx, TEST_PKT_OFF + off, &v, 4);
	return v;
}

static __always_inline __u16 pkt_u16(struct __sk_buff *ctx, __u32 off)
{
	__u16 v = 0;
	bpf_skb_load_bytes(ctx, TEST_PKT_OFF + off, &v, 2);
	return v;
}

static __always_inline __u8 pkt_u8(struct __sk_buff *ctx, __u32 off)
{
	__u8 v = 0;
	bpf_skb_load_bytes(ctx, TEST_PKT_OFF + off, &v, 1);
	return v;
}

/* Offsets in an IPv4 packet without options. */
#define OFF_DMAC 0
#define OFF_SMAC 6
#define OFF_TTL 22
#define OFF_SADDR 26
#define OFF_DADDR 30
#define OFF_SPORT 34
#define OFF_DPORT 36
#define OFF_ICMP_ID 38

#endif /* HYPHA_FIXTURES_H */
