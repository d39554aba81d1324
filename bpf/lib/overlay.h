/* overlay.h — the stages of the VXLAN device (collect-metadata mode) in tunnel mode, shared by
 * bpf_overlay.c and plugin variants that take over through hooks.h.
 *
 * Contract: from_overlay() handles decapsulated packets from other nodes: the VNI carries the
 * source's security identity; a packet for a local pod is delivered straight into it with
 * bpf_redirect_peer. to_overlay() gives packets the host stack routes into the tunnel (node
 * processes talking to remote pods) their tunnel key: the node that owns the destination
 * (ipcache) and the source's identity; packets redirected here by bpf_lxc.c already carry one.
 * Both return a TC verdict or -DROP_*.
 * Hook points: with HYPHA_LB defined, lb_rev_xlate() gives replies from remote backends (SNATed
 * to this node) their service address back, and lb_dsr_ingress() records the service address a
 * DSR request carries.
 */
#ifndef HYPHA_OVERLAY_H
#define HYPHA_OVERLAY_H

#include "common.h"
#include "config.h"
#include "deliver.h"
#include "endpoint.h"
#include "forward.h"
#include "identity.h"
#include "ipcache.h"
#include "nat.h"
#include "parse.h"

__always_inline_hypha int from_overlay(struct __sk_buff *skb, const struct node_config *cfg)
{
	struct bpf_tunnel_key key = {};
	__u32 identity = IDENTITY_WORLD;
	if (hypha_get_tunnel_key(skb, &key) == 0)
		identity = key.tunnel_id;
	/* The sending node put its own traffic under "host"; here that node is a remote node. */
	if (identity == IDENTITY_HOST)
		identity = IDENTITY_REMOTE_NODE;

	struct hypha_packet pkt = {};
	struct hypha_tuple t;
	int ret = parse_ip_flow(skb, &pkt, &t);
	if (ret)
		return ret == PARSE_NOT_IP ? TC_ACT_OK : ret;
#ifdef HYPHA_LB
	if (snat_reply_candidate(&t, cfg)) {
		ret = rev_snat(skb, &pkt, &t);
		if (ret == 1)
			ret = lb_rev_xlate(skb, &pkt, &t);
		if (ret < 0)
			return ret;
		if (ret == 1)
			return lb_reply_out(skb, &t, cfg, identity);
	}
	ret = lb_dsr_ingress(skb, &pkt, &t, cfg);
	if (ret < 0)
		return ret;
#endif
	struct endpoint_info *ep = lookup_endpoint(t.daddr, t.family);
	if (!ep)
		return TC_ACT_OK;
	return deliver_local(skb, &t, ep, identity, DELIVER_REDIRECT | DELIVER_DEC_TTL);
}

__always_inline_hypha int to_overlay(struct __sk_buff *skb)
{
	struct bpf_tunnel_key key = {};
	if (hypha_get_tunnel_key(skb, &key) == 0)
		return TC_ACT_OK; /* set by bpf_lxc.c */

	struct hypha_packet pkt = {};
	struct hypha_tuple t;
	int ret = parse_ip_flow(skb, &pkt, &t);
	if (ret)
		return ret == PARSE_NOT_IP ? -DROP_UNKNOWN_L3 : ret;
	struct ipcache_value *info = ipcache_lookup(t.daddr, t.family);
	if (!info || !info->tunnel_ipv4)
		return -DROP_NO_TUNNEL_ENDPOINT;
	key.tunnel_id = identity_of(t.saddr, t.family);
	key.remote_ipv4 = bpf_ntohl(info->tunnel_ipv4);
	key.tunnel_ttl = HYPHA_TUNNEL_TTL;
	if (hypha_set_tunnel_key(skb, &key, BPF_F_ZERO_CSUM_TX) < 0)
		return -DROP_INVALID_PACKET;
	return TC_ACT_OK;
}

#endif /* HYPHA_OVERLAY_H */
