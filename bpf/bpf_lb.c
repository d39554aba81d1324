/* bpf_lb.c — the load balancer's (plugins/lb) variants of core's forwarding stages.
 *
 * The plugin puts these programs into core's hypha_hooks slots (hooks.h), so when it runs,
 * packets that core's programs would forward go through the same stages (bpf/lib/host.h, lxc.h,
 * overlay.h) compiled with the load balancer's hook points (bpf/lib/lb_stage.h):
 * - HOOK_HOST_INGRESS: traffic from the network to a service frontend is balanced per packet;
 *   replies of flows SNATed to remote backends get their service address back; DSR requests
 *   leave their service address for the reply.
 * - HOOK_LXC_FROM: replies of local backends get their service address back.
 * - HOOK_OVERLAY_INGRESS: what arrives through the tunnel: replies of flows SNATed to remote
 *   backends, and DSR requests (traffic from outside never arrives through the tunnel).
 * - hypha_lb_xdp (optional): the per-packet path in XDP, see lb_xdp.h.
 * When the plugin stops it empties the slots and core's own stages run again. Counting of
 * packets and bytes stays in core's programs (they count before the tail call).
 */
#define HYPHA_LB
#define HYPHA_NO_HOOKS
#include "common.h"
#include "drop.h"
#include "parse.h"
#include "counters.h"
#include "config.h"
#include "hooks.h"
#include "lb_stage.h"
#include "host.h"
#include "lxc.h"
#include "overlay.h"
#include "lb_xdp.h"

SEC("tc")
int hypha_lb_host_ingress(struct __sk_buff *skb)
{
	struct node_config *cfg = enabled_config();
	if (!cfg)
		return TC_ACT_OK;
	struct hypha_packet pkt = {};
	int ret = parse_packet(skb, &pkt);
	if (ret < 0 || (pkt.l3_proto != ETH_P_IP && pkt.l3_proto != ETH_P_IPV6))
		return TC_ACT_OK; /* counted by core's program before the tail call */
	return stage_verdict(skb, from_netdev(skb, &pkt, cfg), HYPHA_DIR_INGRESS);
}

SEC("tc")
int hypha_lb_from_container(struct __sk_buff *skb)
{
	struct node_config *cfg = enabled_config();
	if (!cfg)
		return TC_ACT_OK;
	return stage_verdict(skb, from_container(skb, cfg), HYPHA_DIR_INGRESS);
}

SEC("tc")
int hypha_lb_overlay_ingress(struct __sk_buff *skb)
{
	struct node_config *cfg = enabled_config();
	if (!cfg)
		return TC_ACT_OK;
	return stage_verdict(skb, from_overlay(skb, cfg), HYPHA_DIR_INGRESS);
}

/* Optional (plugins.lb.xdp): the per-packet path in XDP on the node's devices; what it does not
 * handle it passes to the tc stages above. */
SEC("xdp")
int hypha_lb_xdp(struct xdp_md *ctx)
{
	return lb_xdp(ctx);
}

char LICENSE[] SEC("license") = "GPL";
