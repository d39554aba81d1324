/* flow_events.c — a benchmark source of flow events: each run of flow_event_source reports the
 * packet it is given as a flow event (trace.h, one event per packet as at MONITOR_NONE), so
 * BPF_PROG_TEST_RUN with `repeat` fills the hypha_events ring buffer with real records at the
 * kernel's pace. Used by bench/flows (decode pipeline); never attached anywhere.
 */
#include "common.h"
#include "config.h"
#include "parse.h"
#include "trace.h"

SEC("tc")
int flow_event_source(struct __sk_buff *skb)
{
	struct hypha_packet pkt = {};
	struct hypha_tuple t = {};
	if (parse_ip_flow(skb, &pkt, &t))
		return TC_ACT_SHOT;
	trace_flow(skb, &t, OBS_FROM_ENDPOINT, FLOW_F_PACKET, FLOW_F_EGRESS, 256, 257, 1, 1,
		   skb->len);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
