/* bpf_lxc.c — tc programs on the host side of each pod's veth.
 *
 * from-container (tc ingress of the host-side veth: packets the pod sends) and to-container
 * (tc egress: packets the host stack delivers to the pod) run the stages of bpf/lib/lxc.h.
 * From-container first offers the packet to a plugin through the HOOK_LXC_FROM slot (hooks.h):
 * the load balancer takes over there when it runs. Packets redirected into the pod by the other
 * programs never pass to-container. Until the agent has written hypha_config, both programs
 * pass every packet unchanged.
 */
#include "common.h"
#include "drop.h"
#include "parse.h"
#include "counters.h"
#include "config.h"
#include "hooks.h"
#include "lxc.h"

SEC("tc")
int hypha_lxc_from_container(struct __sk_buff *skb)
{
	struct node_config *cfg = enabled_config();
	if (!cfg)
		return TC_ACT_OK;
	hook_tail_call(skb, HOOK_LXC_FROM);
	return stage_verdict(skb, from_container(skb, cfg), HYPHA_DIR_INGRESS);
}

SEC("tc")
int hypha_lxc_to_container(struct __sk_buff *skb)
{
	if (!enabled_config())
		return TC_ACT_OK;
	return stage_verdict(skb, to_container(skb), HYPHA_DIR_EGRESS);
}

char LICENSE[] SEC("license") = "GPL";
