/* lxc.h — the forwarding stages of an endpoint's veth (tc on the host side), shared by
 * bpf_lxc.c and plugin variants that take over through hooks.h.
 *
 * Contract: from_container() handles what the pod sends: it checks the source address is the
 * pod's own, tracks the connection, applies the pod's egress policy (and, for a pod on this node,
 * the destination's ingress policy), then forwards without the host stack where it can: to a pod
 * on this node with bpf_redirect_peer, to a pod on another node through the VXLAN device (tunnel
 * mode) or, with BPF host routing, a FIB lookup and redirect to the uplink. Everything else (the
 * node, the world, ARP, IPv6 neighbour discovery) goes to the host stack. to_container() runs
 * the endpoint's ingress stage for packets the host stack delivers. Both return a TC verdict or
 * -DROP_*; `cfg` is the enabled node config.
 * Hook point: with HYPHA_LB defined, lb_rev_xlate() gives the reply of a translated flow its
 * service address back once conntrack and policy have seen the packet as the pod sent it.
 */
#ifndef HYPHA_LXC_H
#define HYPHA_LXC_H

#include "common.h"
#include "config.h"
#include "conntrack.h"
#include "deliver.h"
#include "endpoint.h"
#include "forward.h"
#include "identity.h"
#include "ipcache.h"
#include "parse.h"
#include "policy.h"
#include "trace.h"

/* IPv6 link-local sources (fe80::/10) and multicast destinations (ff00::/8): neighbour and
 * router discovery, which the host stack answers. */
__always_inline_hypha int ipv6_link_control(const struct hypha_tuple *t)
{
	__u32 s = bpf_ntohl(t->saddr[0]), d = bpf_ntohl(t->daddr[0]);
	return t->family == 6 && ((s & 0xffc00000) == 0xfe800000 || (d >> 24) == 0xff);
}

__always_inline_hypha int from_container(struct __sk_buff *skb, const struct node_config *cfg)
{
	struct hypha_packet pkt = {};
	struct hypha_tuple t;
	int ret = parse_ip_flow(skb, &pkt, &t);
	if (ret)
		return ret == PARSE_NOT_IP ? TC_ACT_OK : ret;
	if (ipv6_link_control(&t))
		return TC_ACT_OK;

	struct endpoint_info *src = lookup_endpoint(t.saddr, t.family);
	if (!src || src->ifindex != skb->ifindex)
		return -DROP_INVALID_SOURCE;
	__u32 identity = src->identity, opener = 0;
	struct ct_report rep;
	int ct = ct_lookup(&t, CT_EGRESS, skb->len, &opener, &rep);
	struct endpoint_info *dst = lookup_endpoint(t.daddr, t.family);
	if (ct != CT_REPLY) {
		__u32 peer = dst ? dst->identity : identity_of(t.daddr, t.family);
		ret = policy_enforce(skb, src, CT_EGRESS, peer, &t, ct == CT_NEW);
		if (ret)
			return ret;
		if (ct == CT_NEW) {
			ct_create(&t, CT_EGRESS, skb->len, identity);
			rep.flags = FLOW_F_NEW;
		}
	}
	if (rep.flags) {
		__u32 peer = dst ? dst->identity : identity_of(t.daddr, t.family);
		/* a reply the endpoint sends belongs to a connection towards it */
		trace_flow(skb, &t, OBS_FROM_ENDPOINT, rep.flags,
			   ct == CT_REPLY ? FLOW_F_REPLY | FLOW_F_INGRESS : FLOW_F_EGRESS, identity,
			   peer, src->id, rep.packets, rep.bytes);
	}
#ifdef HYPHA_LB
	if (ct == CT_REPLY) {
		ret = lb_rev_xlate(skb, &pkt, &t);
		if (ret < 0)
			return ret;
		if (ret == 1)
			return lb_reply_out(skb, &t, cfg, identity);
	}
#endif
	if (dst)
		return deliver_local(skb, &t, dst, identity, DELIVER_REDIRECT | DELIVER_DEC_TTL);

	struct ipcache_value *info = ipcache_lookup(t.daddr, t.family);
	if (info && info->tunnel_ipv4) {
		if (cfg->flags & CONFIG_F_TUNNEL)
			return encap_to_node(skb, cfg, info->tunnel_ipv4, identity);
		if (cfg->flags & CONFIG_F_HOST_ROUTING)
			return fib_redirect(skb, &t);
	}
	return TC_ACT_OK;
}

__always_inline_hypha int to_container(struct __sk_buff *skb)
{
	struct hypha_packet pkt = {};
	struct hypha_tuple t;
	int ret = parse_ip_flow(skb, &pkt, &t);
	if (ret)
		return ret == PARSE_NOT_IP ? TC_ACT_OK : ret;
	struct endpoint_info *ep = lookup_endpoint(t.daddr, t.family);
	if (!ep)
		return TC_ACT_OK;
	return deliver_local(skb, &t, ep, identity_of(t.saddr, t.family), 0);
}

#endif /* HYPHA_LXC_H */
