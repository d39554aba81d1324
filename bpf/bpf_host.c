/* bpf_host.c — tc programs on the node's own devices (uplinks), ingress and egress.
 *
 * Today they observe: count packets, bytes and malformed packets per device and direction for
 * the devices the agent registered in hypha_devices. They never drop or modify traffic: a
 * malformed packet is counted as a drop with its reason (what a forwarding stage would do with
 * it) and passed on with TC_ACT_OK, so attaching hypha cannot break a node's connectivity.
 */
#include "common.h"
#include "drop.h"
#include "parse.h"
#include "counters.h"

__always_inline_hypha int handle_host(struct __sk_buff *skb, __u8 direction)
{
	struct hypha_packet pkt = {};
	int ret = parse_packet(skb, &pkt);

	count_packet(skb->ifindex, direction, skb->len, ret < 0 ? (__u16)-ret : 0);
	return TC_ACT_OK;
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
