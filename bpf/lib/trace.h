/* trace.h — flow events: what the datapath saw, for the agent's flow store (core/flows).
 *
 * Contract: events go into the hypha_events ring buffer as struct flow_event; a full ring buffer
 * loses the event and counts it in hypha_event_stats (never silently). What is reported follows
 * hypha_config.monitor_level, like Cilium's monitor aggregation:
 *   MONITOR_OFF      nothing (not even drops)
 *   MONITOR_NONE     every packet of a tracked connection (no aggregation)
 *   MONITOR_LOW      new connections, every change of TCP flags, closes, periodic reports
 *   MONITOR_MEDIUM   new connections, closes, periodic reports (the default)
 *   MONITOR_MAXIMUM  new connections and closes only
 * Periodic reports (every monitor_interval seconds while packets flow) carry the connection's
 * packet and byte counts. Drops are reported at every level but off, at most drop_events per
 * second and CPU (a flood costs a bounded number of events; the drop counters count them all).
 * Policy verdicts are reported for new connections of endpoints whose policy is enforced;
 * translations (a service's per-packet load balancing) for new flows.
 * Consumers: bpf/lib/conntrack.h, deliver.h, lxc.h, policy.h, lb_stage.h (emitters);
 * scripts/gen_codecs.ts (generates core/bpf/generated/host.ts flowEvent); core/flows (decoder).
 */
#ifndef HYPHA_TRACE_H
#define HYPHA_TRACE_H

#include "common.h"
#include "config.h"
#include "counters.h"
#include "drop.h"
#include "helpers.h"
#include "identity.h"
#include "ipcache.h"
#include "parse.h"

#ifndef HYPHA_EVENTS_SIZE
#define HYPHA_EVENTS_SIZE (4 << 20) /* bytes: ~30k events (136 with the record header) */
#endif

enum monitor_level {
	MONITOR_OFF = 0,
	MONITOR_NONE = 1,
	MONITOR_LOW = 2,
	MONITOR_MEDIUM = 3,
	MONITOR_MAXIMUM = 4,
};

/* Hubble's event types (Cilium's monitor message types). */
enum flow_event_type {
	FLOW_EVENT_DROP = 1,
	FLOW_EVENT_TRACE = 4,
	FLOW_EVENT_POLICY = 5,
};

/* Hubble's verdicts. */
enum flow_verdict {
	VERDICT_FORWARDED = 1,
	VERDICT_DROPPED = 2,
	VERDICT_ERROR = 3,
	VERDICT_AUDIT = 4,
	VERDICT_REDIRECTED = 5,
	VERDICT_TRANSLATED = 7,
};

/* Where the packet was seen (Hubble's trace observation points). */
enum flow_obs_point {
	OBS_UNKNOWN = 0,
	OBS_TO_ENDPOINT = 1,   /* delivered into a local pod */
	OBS_FROM_ENDPOINT = 2, /* sent by a local pod */
	OBS_FROM_NETWORK = 3,  /* arrived at the node's uplink */
	OBS_TO_NETWORK = 4,
	OBS_FROM_OVERLAY = 5,
	OBS_TO_OVERLAY = 6,
	OBS_FROM_STACK = 7,    /* the host stack handed it to a pod's veth */
	/* drops: the tc hook it was dropped at; the agent tells by the interface whether that is a
	 * pod's veth (ingress: FROM_ENDPOINT, egress: TO_ENDPOINT) or an uplink (FROM/TO_NETWORK) */
	OBS_HOOK_INGRESS = 8,
	OBS_HOOK_EGRESS = 9,
};

enum flow_event_flag {
	FLOW_F_REPLY = 0x1,    /* a reply of a tracked connection */
	FLOW_F_INGRESS = 0x2,  /* the connection is towards the local endpoint */
	FLOW_F_EGRESS = 0x4,   /* the connection is from the local endpoint */
	FLOW_F_NEW = 0x8,      /* the first packet of a connection */
	FLOW_F_FLAGS = 0x10,   /* new TCP flags */
	FLOW_F_CLOSE = 0x20,   /* the connection closes (FIN/RST) */
	FLOW_F_PERIODIC = 0x40, /* a report of a long connection (counts are the connection's) */
	FLOW_F_PACKET = 0x80,  /* one packet (no aggregation) */
};

struct flow_event {
	__u64 time;       /* CLOCK_BOOTTIME ns */
	__u64 packets;    /* the connection's so far (periodic, close), else 1 */
	__u64 bytes;
	__u8 type;        /* enum flow_event_type */
	__u8 verdict;     /* enum flow_verdict */
	__u8 obs_point;   /* enum flow_obs_point */
	__u8 flags;       /* enum flow_event_flag */
	__u16 drop_reason; /* enum hypha_drop_reason, drops only */
	__u8 family;
	__u8 proto;
	__u8 tcp_flags;   /* this packet's (or, for a report, every one seen) */
	__u8 icmp_type;
	__u16 endpoint;   /* the local endpoint's id, 0 for none */
	__u32 ifindex;
	__u32 src_identity;
	__u32 dst_identity;
	__u32 rule;       /* policy verdicts: the rule that decided (0: the default) */
	__u32 len;        /* the packet's length */
	__u16 sport;      /* network order */
	__u16 dport;
	__u16 orig_dport; /* translations: the service port, network order */
	__u8 eth[12];     /* destination and source MAC */
	__u8 icmp_code;   /* not read yet (0): the stages are at the verifier's complexity limit */
	__u8 pad;
	__u32 saddr[4];
	__u32 daddr[4];
	__u32 orig_daddr[4]; /* translations: the service address */
};

struct event_stats {
	__u64 sent;
	__u64 lost;     /* the ring buffer was full */
	__u64 limited;  /* drop events over the per-second budget */
	__u64 window;   /* the current second (boot time / 1e9) of the drop budget */
	__u64 in_window;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, HYPHA_EVENTS_SIZE);
} hypha_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct event_stats);
	__uint(max_entries, 1);
} hypha_event_stats SEC(".maps");

/* Scratch space for re-parsing a dropped packet (the stages' stacks are nearly full). */
struct trace_scratch {
	struct hypha_packet pkt;
	struct hypha_tuple t;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct trace_scratch);
	__uint(max_entries, 1);
} hypha_trace_scratch SEC(".maps");

/* Keep the enums in the object's BTF for the code generator. */
const volatile enum monitor_level monitor_level_btf_anchor = MONITOR_OFF;
const volatile enum flow_event_type flow_event_type_btf_anchor = FLOW_EVENT_DROP;
const volatile enum flow_verdict flow_verdict_btf_anchor = VERDICT_FORWARDED;
const volatile enum flow_obs_point flow_obs_point_btf_anchor = OBS_UNKNOWN;
const volatile enum flow_event_flag flow_event_flag_btf_anchor = FLOW_F_REPLY;
const volatile struct flow_event flow_event_btf_anchor = {};

__always_inline_hypha __u8 monitor_level(void)
{
	struct node_config *cfg = node_config();
	return cfg ? cfg->monitor_level : MONITOR_OFF;
}

__always_inline_hypha struct event_stats *event_stats(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&hypha_event_stats, &zero);
}

/* A new event for `t`, or NULL (events off, or the ring buffer full: counted). */
__always_inline_hypha struct flow_event *event_reserve(struct __sk_buff *skb,
						      const struct hypha_tuple *t, __u8 type,
						      __u8 verdict, __u8 obs)
{
	struct event_stats *st = event_stats();
	struct flow_event *e = bpf_ringbuf_reserve(&hypha_events, sizeof(*e), 0);
	if (!e) {
		if (st)
			st->lost++;
		return NULL;
	}
	if (st)
		st->sent++;
	__builtin_memset(e, 0, sizeof(*e));
	e->time = hypha_now();
	e->type = type;
	e->verdict = verdict;
	e->obs_point = obs;
	e->family = t->family;
	e->proto = t->proto;
	e->tcp_flags = t->tcp_flags;
	e->icmp_type = t->icmp_type;
	e->sport = t->sport;
	e->dport = t->dport;
	__builtin_memcpy(e->saddr, t->saddr, 16);
	__builtin_memcpy(e->daddr, t->daddr, 16);
	e->ifindex = skb->ifindex;
	e->len = skb->len;
	e->packets = 1;
	e->bytes = skb->len;
	bpf_skb_load_bytes(skb, 0, e->eth, 12);
	return e;
}

/* A connection event: `notify` (new, flags, close, periodic, or a packet without aggregation;
 * 0: nothing to report) with the connection's direction and reply bits in `dir`. */
__always_inline_hypha void trace_flow(struct __sk_buff *skb, const struct hypha_tuple *t,
				      __u8 obs, __u8 notify, __u8 dir, __u32 src_identity,
				      __u32 dst_identity, __u32 endpoint, __u64 packets, __u64 bytes)
{
	if (!notify || monitor_level() == MONITOR_OFF)
		return;
	struct flow_event *e = event_reserve(skb, t, FLOW_EVENT_TRACE, VERDICT_FORWARDED, obs);
	if (!e)
		return;
	__u8 flags = notify | dir;
	e->flags = flags;
	e->src_identity = src_identity;
	e->dst_identity = dst_identity;
	e->endpoint = (__u16)endpoint;
	if (flags & (FLOW_F_PERIODIC | FLOW_F_CLOSE)) {
		e->packets = packets;
		e->bytes = bytes;
	}
	bpf_ringbuf_submit(e, 0);
}

/* A policy verdict for a new connection of endpoint `endpoint`. */
__always_inline_hypha void trace_policy(struct __sk_buff *skb, const struct hypha_tuple *t,
					__u8 verdict, __u8 direction_flag, __u32 src_identity,
					__u32 dst_identity, __u32 endpoint, __u32 rule)
{
	if (monitor_level() == MONITOR_OFF)
		return;
	struct flow_event *e = event_reserve(skb, t, FLOW_EVENT_POLICY, verdict,
					     direction_flag == FLOW_F_INGRESS ? OBS_TO_ENDPOINT
									      : OBS_FROM_ENDPOINT);
	if (!e)
		return;
	e->flags = direction_flag | FLOW_F_NEW;
	e->src_identity = src_identity;
	e->dst_identity = dst_identity;
	e->endpoint = (__u16)endpoint;
	e->rule = rule;
	bpf_ringbuf_submit(e, 0);
}

/* A service translation of a new flow: `t` as translated, `orig` as the client sent it. */
__always_inline_hypha void trace_xlate(struct __sk_buff *skb, const struct hypha_tuple *t,
				       const struct hypha_tuple *orig, __u32 src_identity,
				       __u32 dst_identity)
{
	if (monitor_level() == MONITOR_OFF)
		return;
	struct flow_event *e = event_reserve(skb, t, FLOW_EVENT_TRACE, VERDICT_TRANSLATED,
					     OBS_FROM_NETWORK);
	if (!e)
		return;
	e->flags = FLOW_F_NEW | FLOW_F_INGRESS;
	e->src_identity = src_identity;
	e->dst_identity = dst_identity;
	__builtin_memcpy(e->saddr, orig->saddr, 16); /* the client, also when SNAT followed */
	e->sport = orig->sport;
	__builtin_memcpy(e->orig_daddr, orig->daddr, 16);
	e->orig_dport = orig->dport;
	bpf_ringbuf_submit(e, 0);
}

/* Whether the per-CPU drop budget of this second has room for one more drop event. */
__always_inline_hypha int drop_budget(struct event_stats *st, __u32 per_second)
{
	if (!st)
		return 0;
	__u64 window = hypha_now() / 1000000000ULL;
	if (st->window != window) {
		st->window = window;
		st->in_window = 0;
	}
	if (st->in_window >= per_second) {
		st->limited++;
		return 0;
	}
	st->in_window++;
	return 1;
}

/* A drop with its reason: the packet is parsed again (drops are the rare path). */
__always_inline_hypha void trace_drop(struct __sk_buff *skb, __u16 reason, __u8 direction)
{
	struct node_config *cfg = node_config();
	if (!cfg || cfg->monitor_level == MONITOR_OFF || !cfg->drop_events)
		return;
	if (!drop_budget(event_stats(), cfg->drop_events))
		return;
	__u32 zero = 0;
	struct trace_scratch *s = bpf_map_lookup_elem(&hypha_trace_scratch, &zero);
	if (!s)
		return;
	__builtin_memset(s, 0, sizeof(*s));
	if (parse_ip_flow(skb, &s->pkt, &s->t))
		__builtin_memset(&s->t, 0, sizeof(s->t)); /* not IP, or malformed: the reason says */
	struct flow_event *e = event_reserve(skb, &s->t, FLOW_EVENT_DROP, VERDICT_DROPPED,
					     direction == HYPHA_DIR_INGRESS ? OBS_HOOK_INGRESS
									    : OBS_HOOK_EGRESS);
	if (!e)
		return;
	e->drop_reason = reason;
	if (s->t.family) {
		e->src_identity = identity_of(s->t.saddr, s->t.family);
		e->dst_identity = identity_of(s->t.daddr, s->t.family);
	}
	bpf_ringbuf_submit(e, 0);
}

/* Turns a stage result (a TC verdict, or -DROP_*) into a verdict, counting and reporting drops
 * by reason. (`direction` is the tc hook's: ingress of a pod's veth is the pod's egress.) */
__always_inline_hypha int stage_verdict(struct __sk_buff *skb, int ret, __u8 direction)
{
	if (ret >= 0) {
		count_traffic(direction, 0, skb->len);
		return ret;
	}
	count_traffic(direction, (__u16)-ret, skb->len);
	count_drop(skb->ifindex, direction, (__u16)-ret);
	trace_drop(skb, (__u16)-ret, direction);
	return TC_ACT_SHOT;
}

#endif /* HYPHA_TRACE_H */
