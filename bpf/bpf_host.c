/* bpf_host.c — tc programs on the node's own devices (uplinks), ingress and egress.
 *
 * Both count packets, bytes and malformed packets per device and direction for the devices the
 * agent registered in hypha_devices. Counting never drops: a malformed packet is counted as a
 * drop with its reason (what a forwarding stage would do with it) and passed on.
 *
 * Once the agent has configured pod networking (hypha_config):
 * - ingress (from-netdev): replies to masqueraded flows are translated back to the pod, and
 *   packets for a local pod (native routing from another node, or translated replies) are
 *   delivered straight into it with bpf_redirect_peer;
 * - egress (to-netdev): pod traffic leaving the cluster is masqueraded to the node address.
 * Everything else is passed to the stack unchanged.
 */
#include "common.h"
#include "drop.h"
#include "parse.h"
#include "counters.h"
#include "config.h"
#include "identity.h"
#include "endpoint.h"
#include "ipcache.h"
#include "conntrack.h"
#include "nat.h"
#include "deliver.h"

/* Destinations inside the cluster (pods, pod CIDRs, the nodes) keep the pod's address: every
 * node routes every pod CIDR, so replies find their way back without translation. */
__always_inline_hypha int cluster_destination(const struct hypha_tuple *t)
{
	struct ipcache_value *v = ipcache_lookup(t->daddr, t->family);
	return v && (v->flags & (IPCACHE_F_POD_CIDR | IPCACHE_F_ENDPOINT | IPCACHE_F_NODE));
}

__always_inline_hypha int from_netdev(struct __sk_buff *skb, const struct hypha_packet *pkt,
				      const struct node_config *cfg)
{
	struct hypha_tuple t;
	if (parse_tuple(skb, pkt, &t) < 0)
		return TC_ACT_OK; /* counted by the observer */
	__u32 identity = 0;
	if ((cfg->flags & CONFIG_F_MASQUERADE) && t.family == 4 &&
	    t.daddr[0] == cfg->node_ipv4 && nat_translatable(&t)) {
		int ret = rev_snat_v4(skb, pkt, &t);
		if (ret < 0)
			return ret;
		if (ret == 1)
			identity = IDENTITY_WORLD_IPV4;
	}
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

__always_inline_hypha int handle_host(struct __sk_buff *skb, __u8 direction)
{
	struct hypha_packet pkt = {};
	int ret = parse_packet(skb, &pkt);

	count_packet(skb->ifindex, direction, skb->len, ret < 0 ? (__u16)-ret : 0);
	if (ret < 0)
		return TC_ACT_OK;
	struct node_config *cfg = enabled_config();
	if (!cfg)
		return TC_ACT_OK;
	if (pkt.l3_proto != ETH_P_IP && pkt.l3_proto != ETH_P_IPV6)
		return TC_ACT_OK;
	ret = direction == HYPHA_DIR_INGRESS ? from_netdev(skb, &pkt, cfg)
					     : to_netdev(skb, &pkt, cfg);
	return stage_verdict(skb, ret, direction);
}

SEC("tc")
int hypha_host_ingress(struct __sk_buff *skb)
{
	return handle_host(skb, HYPHA_DIR_INGRESS);
}

SEC("tc")
int hypha_host_egress(struct __sk_buff *skb)
{
	return handle_host(skb, HYPHA_DIR_EGRESS);
}

char LICENSE[] SEC("license") = "GPL";
