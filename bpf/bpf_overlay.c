/* bpf_overlay.c — tc programs on the VXLAN device (collect-metadata mode) in tunnel mode.
 *
 * ingress (decapsulated packets from other nodes): the VNI carries the source's security
 * identity; a packet for a local pod is delivered straight into it with bpf_redirect_peer.
 *
 * egress: packets the host stack routes into the tunnel (node processes talking to remote
 * pods) get their tunnel key here: the node that owns the destination (ipcache) and the
 * source's identity. Packets redirected here by bpf_lxc.c already carry a key and pass.
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
#include "deliver.h"
#include "forward.h"

__always_inline_hypha int from_overlay(struct __sk_buff *skb)
{
	if (!enabled_config())
		return TC_ACT_OK;

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
	struct endpoint_info *ep = lookup_endpoint(t.daddr, t.family);
	if (!ep)
		return TC_ACT_OK;
	return deliver_local(skb, &t, ep, identity, DELIVER_REDIRECT | DELIVER_DEC_TTL);
}

__always_inline_hypha int to_overlay(struct __sk_buff *skb)
{
	if (!enabled_config())
		return TC_ACT_OK;

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

SEC("tc")
int hypha_overlay_ingress(struct __sk_buff *skb)
{
	return stage_verdict(skb, from_overlay(skb), HYPHA_DIR_INGRESS);
}

SEC("tc")
int hypha_overlay_egress(struct __sk_buff *skb)
{
	return stage_verdict(skb, to_overlay(skb), HYPHA_DIR_EGRESS);
}

char LICENSE[] SEC("license") = "GPL";
