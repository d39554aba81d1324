/* lb_xdp.h — the load balancer in XDP: traffic from outside to a service frontend is balanced
 * before the kernel allocates an skb. The same maps and decisions as the tc path (lb_stage.h):
 * the flow keeps its backend in hypha_lb_ct, the destination becomes the backend, and
 * - a backend on this node: the packet goes on (XDP_PASS) to the tc stage, which delivers it
 *   into the pod (the destination is the pod now);
 * - a remote backend (SNAT mode, native routing): the source becomes this node too and the
 *   packet leaves again right here after a FIB lookup (XDP_TX / redirect).
 * Everything else (not a frontend, the reply of a translated flow, no backend to refuse with,
 * DSR, tunnel mode, IP options, a next hop without a neighbour entry) is passed untouched to the
 * tc stage, which handles every case. Drops are counted by reason like the tc stages'. Checksums are updated
 * incrementally as full checksums (RFC 1624): what a NIC hands to XDP carries full checksums.
 */
#ifndef HYPHA_LB_XDP_H
#define HYPHA_LB_XDP_H

#include "common.h"
#include "config.h"
#include "counters.h"
#include "endpoint.h"
#include "lb.h"
#include "nat.h"
#include "parse.h"

struct xdp_flow {
	struct hypha_tuple t;
	__u32 l4_off;
	__u8 ip_ihl_ok; /* IPv4 without options (or IPv6) */
};

/* Parses Ethernet, IPv4/IPv6 and the TCP/UDP ports; 0 when the packet is one XDP handles. */
__always_inline_hypha int xdp_parse(struct xdp_md *ctx, struct xdp_flow *f)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return -1;
	__builtin_memset(f, 0, sizeof(*f));
	__u16 proto = bpf_ntohs(eth->h_proto);
	if (proto == ETH_P_IP) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > data_end || ip->ihl != 5)
			return -1;
		if (ip->frag_off & bpf_htons(0x3fff))
			return -1; /* fragments: the tc stage */
		f->t.family = 4;
		f->t.saddr[0] = ip->saddr;
		f->t.daddr[0] = ip->daddr;
		f->t.proto = ip->protocol;
		f->t.ttl = ip->ttl;
		f->l4_off = sizeof(*eth) + sizeof(*ip);
	} else if (proto == ETH_P_IPV6) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > data_end)
			return -1;
		f->t.family = 6;
		__builtin_memcpy(f->t.saddr, &ip6->saddr, 16);
		__builtin_memcpy(f->t.daddr, &ip6->daddr, 16);
		f->t.proto = ip6->nexthdr;
		f->t.ttl = ip6->hop_limit;
		f->l4_off = sizeof(*eth) + sizeof(*ip6);
	} else {
		return -1;
	}
	if (f->t.proto != IPPROTO_TCP && f->t.proto != IPPROTO_UDP)
		return -1;
	__u8 *l4 = data + f->l4_off;
	if (l4 + (f->t.proto == IPPROTO_TCP ? 20 : 8) > (__u8 *)data_end)
		return -1;
	f->t.sport = *(__u16 *)l4;
	f->t.dport = *(__u16 *)(l4 + 2);
	if (f->t.proto == IPPROTO_TCP)
		f->t.tcp_flags = l4[13];
	return 0;
}

__always_inline_hypha __u16 xdp_fold(__s64 csum)
{
	__u32 c = (__u32)csum;
	c = (c & 0xffff) + (c >> 16);
	c = (c & 0xffff) + (c >> 16);
	return (__u16)~c;
}

/* Replaces an address (4 or 16 bytes at `off`) and the 4-byte port word at the L4 header:
 * `dest` picks destination (address, port) or source. Fixes the IPv4 header checksum and the L4
 * checksum (TCP, UDP; an IPv4 UDP checksum of 0 means none and stays 0). */
__always_inline_hypha int xdp_rewrite(struct xdp_md *ctx, struct xdp_flow *f, int dest,
				      const __u32 addr[4], __u16 port)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l4_off = f->t.family == 4 ? 14 + 20 : 14 + 40;
	__u8 *l4 = data + l4_off;
	if (l4 + (f->t.proto == IPPROTO_TCP ? 20 : 8) > (__u8 *)data_end)
		return -1;
	__u16 *check = (__u16 *)(l4 + (f->t.proto == IPPROTO_TCP ? 16 : 6));
	__u32 *ports = (__u32 *)l4;
	__u32 old_ports = *ports;
	__u16 p[2];
	__builtin_memcpy(p, &old_ports, 4);
	p[dest ? 1 : 0] = port;
	__u32 new_ports;
	__builtin_memcpy(&new_ports, p, 4);

	__u32 old_addr[4] = {}, new_addr[4] = { addr[0], addr[1], addr[2], addr[3] };
	if (f->t.family == 4) {
		struct iphdr *ip = data + 14;
		if ((void *)(ip + 1) > data_end)
			return -1;
		__u32 *field = dest ? &ip->daddr : &ip->saddr;
		old_addr[0] = *field;
		*field = addr[0];
		__s64 ipsum = bpf_csum_diff(old_addr, 4, new_addr, 4, ~((__u32)ip->check) & 0xffff);
		ip->check = xdp_fold(ipsum);
		if (!(f->t.proto == IPPROTO_UDP && *check == 0)) { /* 0: a UDP datagram without one */
			__s64 sum = bpf_csum_diff(old_addr, 4, new_addr, 4, ~((__u32)*check) & 0xffff);
			sum = bpf_csum_diff(&old_ports, 4, &new_ports, 4, sum);
			__u16 c = xdp_fold(sum);
			*check = (c == 0 && f->t.proto == IPPROTO_UDP) ? 0xffff : c;
		}
	} else {
		struct ipv6hdr *ip6 = data + 14;
		if ((void *)(ip6 + 1) > data_end)
			return -1;
		__u32 *field = dest ? (__u32 *)&ip6->daddr : (__u32 *)&ip6->saddr;
		__builtin_memcpy(old_addr, field, 16);
		__builtin_memcpy(field, new_addr, 16);
		__s64 sum = bpf_csum_diff(old_addr, 16, new_addr, 16, ~((__u32)*check) & 0xffff);
		sum = bpf_csum_diff(&old_ports, 4, &new_ports, 4, sum);
		__u16 c = xdp_fold(sum);
		*check = (c == 0 && f->t.proto == IPPROTO_UDP) ? 0xffff : c;
	}
	*ports = new_ports;
	if (dest) {
		__builtin_memcpy(f->t.daddr, new_addr, 16);
		f->t.dport = port;
	} else {
		__builtin_memcpy(f->t.saddr, new_addr, 16);
		f->t.sport = port;
	}
	return 0;
}

/* The next hop towards a remote backend (source: this node), looked up before the packet is
 * touched: without a route or neighbour the packet goes to the tc stage unchanged. */
__always_inline_hypha int xdp_next_hop(struct xdp_md *ctx, const __u32 backend[4], __u8 family,
				       const struct node_config *cfg, struct bpf_fib_lookup *fib)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->ifindex = ctx->ingress_ifindex;
	if (family == 4) {
		fib->family = HYPHA_AF_INET;
		fib->ipv4_src = cfg->node_ipv4;
		fib->ipv4_dst = backend[0];
	} else {
		fib->family = HYPHA_AF_INET6;
		__builtin_memcpy(fib->ipv6_src, cfg->node_ipv6, 16);
		__builtin_memcpy(fib->ipv6_dst, backend, 16);
	}
	return bpf_fib_lookup(ctx, fib, sizeof(*fib), 0) == BPF_FIB_LKUP_RET_SUCCESS ? 0 : -1;
}

/* Sends a translated packet to the next hop found by xdp_next_hop(): TTL, MACs, out. */
__always_inline_hypha int xdp_forward(struct xdp_md *ctx, struct xdp_flow *f,
				      const struct bpf_fib_lookup *fib)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (f->t.family == 4) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > data_end || ip->ttl <= 1)
			return XDP_DROP;
		__u32 old = bpf_htonl((__u32)ip->ttl << 24), new = bpf_htonl((__u32)(ip->ttl - 1) << 24);
		ip->ttl--;
		ip->check = xdp_fold(bpf_csum_diff(&old, 4, &new, 4, ~((__u32)ip->check) & 0xffff));
	} else {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > data_end || ip6->hop_limit <= 1)
			return XDP_DROP;
		ip6->hop_limit--;
	}
	__builtin_memcpy(eth->h_dest, fib->dmac, 6);
	__builtin_memcpy(eth->h_source, fib->smac, 6);
	if (fib->ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect(fib->ifindex, 0);
}

/* Drops a packet, counted by reason like the tc stages' drops. */
__always_inline_hypha int xdp_drop(struct xdp_md *ctx, __u16 reason)
{
	count_drop(ctx->ingress_ifindex, HYPHA_DIR_INGRESS, reason);
	return XDP_DROP;
}

__always_inline_hypha int lb_xdp(struct xdp_md *ctx)
{
	struct node_config *cfg = enabled_config();
	struct lb_config *lcfg = lb_config();
	if (!cfg || !lcfg)
		return XDP_PASS;
	struct xdp_flow f;
	if (xdp_parse(ctx, &f))
		return XDP_PASS;
	struct lb_frontend *fe = lb_frontend(f.t.daddr, f.t.dport, f.t.proto, f.t.family);
	if (!fe || !(fe->flags & LB_FE_EXTERNAL) || snat_is_reply(&f.t, cfg))
		return XDP_PASS;
	if (!lb_source_allowed(fe, f.t.saddr, f.t.family))
		return xdp_drop(ctx, DROP_LB_SOURCE_RANGE);
	if (!fe->count)
		return XDP_PASS; /* refused by the tc stage (RST / ICMP) */
	__u64 now = hypha_now();
	int fresh = 0;
	__u32 backend_id = lb_flow_backend(&f.t, fe, lcfg, now, &fresh);
	struct lb_backend *found = backend_id ? lb_backend(backend_id) : NULL;
	if (!found || found->family != f.t.family)
		return XDP_PASS;
	struct lb_backend be = *found;
	int local = lookup_endpoint(be.addr, be.family) != NULL;
	struct bpf_fib_lookup fib;
	if (!local) {
		if (fe->flags & LB_FE_LOCAL)
			return xdp_drop(ctx, DROP_NO_BACKEND);
		/* DSR adds an IP option, the tunnel needs the tc stage's tunnel key, a missing next
		 * hop the stack: all left to the tc stage, untouched */
		if ((lcfg->flags & LB_CFG_F_DSR) && f.t.family == 4)
			return XDP_PASS;
		if (cfg->flags & CONFIG_F_TUNNEL)
			return XDP_PASS;
		if (xdp_next_hop(ctx, be.addr, be.family, cfg, &fib))
			return XDP_PASS;
	}
	struct hypha_tuple orig = f.t;
	if (xdp_rewrite(ctx, &f, 1, be.addr, be.port))
		return XDP_PASS;
	if (local) {
		lb_rev_put(&f.t, &orig, now);
		return XDP_PASS; /* delivered into the pod by the tc stage */
	}
	struct nat_entry to;
	if (snat_lookup_or_create(&f.t, cfg, &to))
		return xdp_drop(ctx, DROP_NAT_NO_PORT);
	if (xdp_rewrite(ctx, &f, 0, to.to_addr, to.to_port))
		return xdp_drop(ctx, DROP_INVALID_PACKET);
	lb_rev_put(&f.t, &orig, now);
	return xdp_forward(ctx, &f, &fib);
}

#endif /* HYPHA_LB_XDP_H */
