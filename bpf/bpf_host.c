/* bpf_host.c — tc programs on the node's own devices (uplinks), ingress and egress.
 *
 * Both count packets, bytes and malformed packets per device and direction for the devices the
 * agent registered in hypha_devices. Counting never drops: a malformed packet is counted as a
 * drop with its reason (what a forwarding stage would do with it) and passed on.
 *
 * Once the agent has configured pod networking (hypha_config), the forwarding stages of
 * bpf/lib/host.h run: ingress (from-netdev) translates masquerade replies back and delivers
 * packets for local pods; egress (to-netdev) masquerades pod traffic leaving the cluster.
 * Ingress first offers the packet to a plugin through the HOOK_HOST_INGRESS slot (hooks.h):
 * the load balancer takes over there when it runs.
 */
#include "common.h"
#include "drop.h"
#include "parse.h"
#include "counters.h"
#include "config.h"
#include "hooks.h"
#include "host.h"

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
	if (direction == HYPHA_DIR_INGRESS)
		hook_tail_call(skb, HOOK_HOST_INGRESS);
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
