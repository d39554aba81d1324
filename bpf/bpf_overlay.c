/* bpf_overlay.c — tc programs on the VXLAN device (collect-metadata mode) in tunnel mode.
 *
 * ingress (decapsulated packets from other nodes) and egress (packets the host stack routes
 * into the tunnel) run the stages of bpf/lib/overlay.h. Ingress first offers the packet to a
 * plugin through the HOOK_OVERLAY_INGRESS slot (hooks.h): the load balancer takes over there
 * when it runs.
 */
#include "common.h"
#include "drop.h"
#include "parse.h"
#include "counters.h"
#include "config.h"
#include "hooks.h"
#include "overlay.h"

SEC("tc")
int hypha_overlay_ingress(struct __sk_buff *skb)
{
	struct node_config *cfg = enabled_config();
	if (!cfg)
		return TC_ACT_OK;
	hook_tail_call(skb, HOOK_OVERLAY_INGRESS);
	return stage_verdict(skb, from_overlay(skb, cfg), HYPHA_DIR_INGRESS);
}

SEC("tc")
int hypha_overlay_egress(struct __sk_buff *skb)
{
	if (!enabled_config())
		return TC_ACT_OK;
	return stage_verdict(skb, to_overlay(skb), HYPHA_DIR_EGRESS);
}

char LICENSE[] SEC("license") = "GPL";
