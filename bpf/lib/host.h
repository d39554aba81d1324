/* host.h — the forwarding stages of the node's devices (tc on the uplinks), shared by
 * bpf_host.c and plugin variants that take over through hooks.h.
 *
 * Contract: from_netdev() handles a packet arriving from the network (ingress): replies to
 * masqueraded flows are translated back to the pod, and packets for a local pod are delivered
 * straight into it with bpf_redirect_peer. to_netdev() masquerades pod traffic that leaves the
 * cluster to the node address (egress). Both return a TC verdict or -DROP_*; pkt is the parsed
 * packet of parse_packet(), cfg the enabled node config.
 * Hook points: a file that defines HYPHA_LB before including this header provides
 * lb_from_netdev() (a service frontend: the LB owns the packet), lb_rev_xlate() (the reply of a
 * translated flow gets its service address back) and lb_dsr_ingress() (a DSR request carries
 * its service address to this node), see bpf/lib/lb_stage.h.
 */
#ifndef HYPHA_HOST_H
#define HYPHA_HOST_H

#include "common.h"
#include "config.h"
#include "conntrack.h"
#include "deliver.h"
#include "endpoint.h"
#include "identity.h"
#include "ipcache.h"
#include "nat.h"
#include "parse.h"

/* Destinations inside the cluster (pods, pod CIDRs, the nodes) keep the pod's address: every
 * node routes every pod CIDR, so replies find their way back without translation. */
__always_inline_hypha int cluster_destination(const struct hypha_tuple *t)
{
	struct ipcache_value *v = ipcache_lookup(t->daddr, t->family);
	return v && (v->flags & (IPCACHE_F_POD_CIDR | IPCACHE_F_ENDPOINT | IPCACHE_F_NODE));
}

/* Reverse translation of flows SNATed to the node address: masquerade replies, and (with the
 * load balancer) replies from remote backends, which the LB SNATs even without masquerade. */
#ifdef HYPHA_LB
#define REV_SNAT_WANTED(cfg) 1
#else
#define REV_SNAT_WANTED(cfg) ((cfg)->flags & CONFIG_F_MASQUERADE)
#endif

__always_inline_hypha int from_netdev(struct __sk_buff *skb, const struct hypha_packet *pkt,
				      const struct node_config *cfg)
{
	struct hypha_tuple t;
	if (parse_tuple(skb, pkt, &t) < 0)
		return TC_ACT_OK; /* counted by the observer */
	int ret;
#ifdef HYPHA_LB
	ret = lb_from_netdev(skb, pkt, &t, cfg);
	if (ret != STAGE_NEXT)
		return ret;
#endif
	__u32 identity = 0;
	if (REV_SNAT_WANTED(cfg) && snat_reply_candidate(&t, cfg)) {
		ret = rev_snat(skb, pkt, &t);
		if (ret < 0)
			return ret;
		if (ret == 1) {
			identity = IDENTITY_WORLD_IPV4;
#ifdef HYPHA_LB
			ret = lb_rev_xlate(skb, pkt, &t);
			if (ret < 0)
				return ret;
			if (ret == 1)
				return lb_reply_out(skb, &t, cfg, IDENTITY_WORLD_IPV4);
#endif
		}
	}
#ifdef HYPHA_LB
	ret = lb_dsr_ingress(skb, pkt, &t, cfg);
	if (ret < 0)
		return ret;
#endif
	struct endpoint_info *ep = lookup_endpoint(t.daddr, t.family);
	if (!ep)
		return TC_ACT_OK;
	if (!identity)
		identity = identity_of(t.saddr, t.family);
	return deliver_local(skb, &t, ep, identity, DELIVER_REDIRECT | DELIVER_DEC_TTL);
}

__always_inline_hypha int to_netdev(struct __sk_buff *skb, const struct hypha_packet *pkt,
				    const struct node_config *cfg)
{
	if (!(cfg->flags & CONFIG_F_MASQUERADE) || pkt->l3_proto != ETH_P_IP)
		return TC_ACT_OK;
	struct hypha_tuple t;
	if (parse_tuple(skb, pkt, &t) < 0 || !nat_translatable(&t))
		return TC_ACT_OK;
	if (!lookup_endpoint(t.saddr, t.family) || cluster_destination(&t))
		return TC_ACT_OK;
	return snat_v4(skb, pkt, &t, cfg);
}

#endif /* HYPHA_HOST_H */
