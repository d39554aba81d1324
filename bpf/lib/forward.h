/* forward.h — sending a packet to another node: VXLAN encapsulation (tunnel mode) or a FIB
 * lookup and a direct redirect to the uplink (native routing).
 *
 * Contract: both take the packet of a local pod whose destination the ipcache says another node
 * owns. Tunnel mode sets the tunnel key (remote node, VNI = the source's security identity) and
 * redirects to the VXLAN device in collect-metadata mode; native mode asks the kernel FIB for
 * the next hop and its MACs. Whenever the kernel has no neighbour entry yet (first packet to a
 * node) the packet takes the host stack, which resolves it. Returns a TC verdict or -DROP_*.
 */
#ifndef HYPHA_FORWARD_H
#define HYPHA_FORWARD_H

#include "common.h"
#include "config.h"
#include "helpers.h"
#include "l3.h"
#include "parse.h"

#define HYPHA_TUNNEL_TTL 64
#define HYPHA_AF_INET 2
#define HYPHA_AF_INET6 10

__always_inline_hypha int encap_to_node(struct __sk_buff *skb, const struct node_config *cfg,
					__u32 node_ipv4, __u32 identity)
{
	struct bpf_tunnel_key key = {
		.tunnel_id = identity,
		.remote_ipv4 = bpf_ntohl(node_ipv4), /* the helper wants host order */
		.tunnel_ttl = HYPHA_TUNNEL_TTL,
	};
	if (!cfg->tunnel_ifindex)
		return -DROP_NO_TUNNEL_ENDPOINT;
	if (hypha_set_tunnel_key(skb, &key, BPF_F_ZERO_CSUM_TX) < 0)
		return -DROP_INVALID_PACKET;
	return hypha_redirect(cfg->tunnel_ifindex, 0);
}

#define FIB_DEC_TTL 0x1 /* the packet is routed through this node */
#define FIB_NEIGH 0x2   /* without a neighbour entry, bpf_redirect_neigh() rather than the stack */

/* Sends a packet out of the device the kernel FIB names for its destination, with the next hop's
 * MACs. Without a neighbour entry yet it takes the host stack, which resolves it, unless
 * FIB_NEIGH asks for bpf_redirect_neigh() (a packet the stack's input path would drop). */
__always_inline_hypha int fib_forward(struct __sk_buff *skb, const struct hypha_tuple *t,
				      __u32 flags)
{
	struct bpf_fib_lookup fib = {
		.l4_protocol = t->proto,
		.sport = t->sport,
		.dport = t->dport,
		.ifindex = skb->ifindex,
		/* tot_len 0: the kernel checks the skb against the egress MTU (GSO-aware) */
	};
	if (t->family == 4) {
		fib.family = HYPHA_AF_INET;
		fib.ipv4_src = t->saddr[0];
		fib.ipv4_dst = t->daddr[0];
	} else {
		fib.family = HYPHA_AF_INET6;
		__builtin_memcpy(fib.ipv6_src, t->saddr, 16);
		__builtin_memcpy(fib.ipv6_dst, t->daddr, 16);
	}
	long ret = hypha_fib_lookup(skb, &fib, 0);
	int neigh = ret == BPF_FIB_LKUP_RET_NO_NEIGH && (flags & FIB_NEIGH);
	if (ret != BPF_FIB_LKUP_RET_SUCCESS && !neigh)
		return TC_ACT_OK; /* no neighbour yet, or not forwardable here: the stack decides */
	if (flags & FIB_DEC_TTL) {
		int err = dec_ttl(skb, t->family, t->ttl);
		if (err)
			return err;
	}
	if (neigh)
		return hypha_redirect_neigh(fib.ifindex);
	__u8 dmac[6], smac[6];
	__builtin_memcpy(dmac, fib.dmac, 6);
	__builtin_memcpy(smac, fib.smac, 6);
	int err = rewrite_macs(skb, dmac, smac);
	if (err)
		return err;
	return hypha_redirect(fib.ifindex, 0);
}

/* Native routing with BPF host routing: a pod's packet for another node. */
__always_inline_hypha int fib_redirect(struct __sk_buff *skb, const struct hypha_tuple *t)
{
	return fib_forward(skb, t, FIB_DEC_TTL);
}

#endif /* HYPHA_FORWARD_H */
