/* deliver.h — handing a packet to a local endpoint (pod).
 *
 * Contract: deliver_local() runs the endpoint's ingress stage (conntrack and policy) and,
 * when the caller is a tc ingress hook on another device (the pod's own veth is not), moves the
 * packet straight into the pod's namespace with bpf_redirect_peer after rewriting the MACs and
 * decrementing the TTL once for the hop through this node. Returns a TC verdict or -DROP_*.
 */
#ifndef HYPHA_DELIVER_H
#define HYPHA_DELIVER_H

#include "common.h"
#include "conntrack.h"
#include "endpoint.h"
#include "helpers.h"
#include "l3.h"
#include "parse.h"
#include "policy.h"
#include "trace.h"

#define DELIVER_REDIRECT 0x1 /* redirect into the pod (the caller is not the pod's veth) */
#define DELIVER_DEC_TTL 0x2  /* the packet was routed by this node */

__always_inline_hypha int deliver_local(struct __sk_buff *skb, const struct hypha_tuple *t,
					const struct endpoint_info *ep, __u32 src_identity,
					__u32 flags)
{
	__u32 opener = 0;
	struct ct_report rep;
	int ct = ct_lookup(t, CT_INGRESS, skb->len, &opener, &rep);
	if (ct != CT_REPLY) {
		int denied = policy_enforce(skb, ep, CT_INGRESS, src_identity, t, ct == CT_NEW);
		if (denied)
			return denied;
		if (ct == CT_NEW) {
			ct_create(t, CT_INGRESS, skb->len, src_identity);
			rep.flags = FLOW_F_NEW;
		}
	}
	/* a reply goes to the endpoint that opened the connection: its egress connection */
	trace_flow(skb, t, OBS_TO_ENDPOINT, rep.flags,
		   ct == CT_REPLY ? FLOW_F_REPLY | FLOW_F_EGRESS : FLOW_F_INGRESS, src_identity,
		   ep->identity, ep->id, rep.packets, rep.bytes);
	if (!(flags & DELIVER_REDIRECT))
		return TC_ACT_OK;
	if (flags & DELIVER_DEC_TTL) {
		int ret = dec_ttl(skb, t->family, t->ttl);
		if (ret)
			return ret;
	}
	__u32 ifindex = ep->ifindex;
	__u8 mac[6], node_mac[6];
	__builtin_memcpy(mac, ep->mac, 6);
	__builtin_memcpy(node_mac, ep->node_mac, 6);
	int ret = rewrite_macs(skb, mac, node_mac);
	if (ret)
		return ret;
	return hypha_redirect_peer(ifindex, 0);
}

#endif /* HYPHA_DELIVER_H */
