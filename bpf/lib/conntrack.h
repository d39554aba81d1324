/* conntrack.h — connection tracking for endpoint traffic (LRU, shared by all programs).
 *
 * Contract: one entry per (tuple, direction) as the endpoint saw it first: CT_EGRESS for
 * connections a local pod opened, CT_INGRESS for connections towards a local pod. A packet whose
 * reversed tuple has an entry of the opposite direction is a reply. Entries carry an expiry in
 * CLOCK_BOOTTIME nanoseconds; the agent deletes expired entries (core/datapath/ct_gc.ts) and the
 * LRU evicts the oldest when full. Lifetimes follow Cilium's defaults and may be overridden.
 */
#ifndef HYPHA_CONNTRACK_H
#define HYPHA_CONNTRACK_H

#include "common.h"
#include "helpers.h"
#include "parse.h"
#include "trace.h"

#ifndef HYPHA_CT_SIZE
#define HYPHA_CT_SIZE 131072
#endif
#ifndef CT_LIFETIME_TCP
#define CT_LIFETIME_TCP 21600ULL /* seconds, established TCP */
#endif
#ifndef CT_LIFETIME_SYN
#define CT_LIFETIME_SYN 60ULL /* a TCP connection not yet answered */
#endif
#ifndef CT_LIFETIME_CLOSE
#define CT_LIFETIME_CLOSE 10ULL /* after FIN or RST */
#endif
#ifndef CT_LIFETIME_NONTCP
#define CT_LIFETIME_NONTCP 60ULL
#endif
/* Expiry is refreshed at most this often per entry, so busy flows do not write every packet. */
#define CT_REFRESH_NS 1000000000ULL
#define NS_PER_SEC 1000000000ULL

enum ct_dir {
	CT_EGRESS = 0,
	CT_INGRESS = 1,
};

enum ct_status {
	CT_NEW = 0,
	CT_ESTABLISHED = 1, /* another packet in the direction that opened the connection */
	CT_REPLY = 2,
};

struct ct_key {
	__u32 saddr[4];
	__u32 daddr[4];
	__u16 sport; /* network order */
	__u16 dport;
	__u8 proto;
	__u8 family;
	__u8 dir; /* enum ct_dir */
	__u8 pad;
};

#define CT_F_SEEN_REPLY 0x1
#define CT_F_CLOSING 0x2

struct ct_entry {
	__u64 expires; /* CLOCK_BOOTTIME ns */
	__u64 tx_packets; /* in the opening direction */
	__u64 tx_bytes;
	__u64 rx_packets; /* replies */
	__u64 rx_bytes;
	__u32 src_identity; /* identity of the side that opened the connection */
	__u16 flags;        /* CT_F_* */
	__u8 tcp_flags;     /* every TCP flag seen, both directions */
	__u8 pad;
	__u64 last_report;  /* CLOCK_BOOTTIME ns of the last flow event about it (trace.h) */
};

/* What a lookup says about the connection for flow events: FLOW_F_* to report (0: nothing,
 * by the monitor level) and the connection's counts so far. */
struct ct_report {
	__u8 flags;
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct ct_key);
	__type(value, struct ct_entry);
	__uint(max_entries, HYPHA_CT_SIZE);
} hypha_ct SEC(".maps");

__always_inline_hypha void ct_key_from(struct ct_key *k, const struct hypha_tuple *t, __u8 dir,
				       int reverse)
{
	__builtin_memset(k, 0, sizeof(*k));
	if (reverse) {
		__builtin_memcpy(k->saddr, t->daddr, 16);
		__builtin_memcpy(k->daddr, t->saddr, 16);
		k->sport = t->dport;
		k->dport = t->sport;
	} else {
		__builtin_memcpy(k->saddr, t->saddr, 16);
		__builtin_memcpy(k->daddr, t->daddr, 16);
		k->sport = t->sport;
		k->dport = t->dport;
	}
	k->proto = t->proto;
	k->family = t->family;
	k->dir = dir;
}

__always_inline_hypha __u64 ct_lifetime(const struct hypha_tuple *t, __u16 flags)
{
	if (t->proto != IPPROTO_TCP)
		return CT_LIFETIME_NONTCP;
	if (flags & CT_F_CLOSING)
		return CT_LIFETIME_CLOSE;
	if (!(flags & CT_F_SEEN_REPLY))
		return CT_LIFETIME_SYN;
	return CT_LIFETIME_TCP;
}

/* Accounts a packet of a known connection; returns the FLOW_F_* events it is worth at the
 * node's monitor level (trace.h). */
__always_inline_hypha __u8 ct_touch(struct ct_entry *e, const struct hypha_tuple *t, __u64 now,
				    int reply)
{
	__u8 notify = 0;
	struct node_config *cfg = node_config();
	__u8 level = cfg ? cfg->monitor_level : MONITOR_OFF;
	__u16 flags = e->flags;
	if (reply)
		flags |= CT_F_SEEN_REPLY;
	if (t->tcp_flags & (TCP_F_FIN | TCP_F_RST))
		flags |= CT_F_CLOSING;
	if ((flags & CT_F_CLOSING) && !(e->flags & CT_F_CLOSING))
		notify |= FLOW_F_CLOSE;
	if (flags != e->flags)
		e->flags = flags;
	if ((e->tcp_flags | t->tcp_flags) != e->tcp_flags) {
		e->tcp_flags |= t->tcp_flags;
		if (level <= MONITOR_LOW)
			notify |= FLOW_F_FLAGS;
	}
	__u64 expires = now + ct_lifetime(t, flags) * NS_PER_SEC;
	/* shorter lifetimes (closing) apply at once; longer ones at most once per interval */
	if (expires < e->expires || expires > e->expires + CT_REFRESH_NS)
		e->expires = expires;
	if (level == MONITOR_OFF)
		return 0;
	if (level == MONITOR_NONE)
		notify |= FLOW_F_PACKET;
	if (level <= MONITOR_MEDIUM && cfg->monitor_interval &&
	    now - e->last_report > (__u64)cfg->monitor_interval * NS_PER_SEC) {
		e->last_report = now;
		notify |= FLOW_F_PERIODIC;
	}
	return notify;
}

/* Looks up the connection of one packet of `len` bytes seen in direction `dir` (from the
 * endpoint's point of view) and accounts it. Returns CT_ESTABLISHED or CT_REPLY (with the
 * identity that opened the connection in `opener`), or CT_NEW when the connection is unknown
 * (or a SYN reopens a closed one): the caller decides (policy) and then calls ct_create(). */
__always_inline_hypha int ct_lookup(const struct hypha_tuple *t, __u8 dir, __u32 len,
				    __u32 *opener, struct ct_report *rep)
{
	struct ct_key key;
	__u64 now = hypha_now();

	ct_key_from(&key, t, dir, 0);
	struct ct_entry *e = bpf_map_lookup_elem(&hypha_ct, &key);
	int status = CT_ESTABLISHED;
	/* A SYN on a connection that closed is a new connection reusing the tuple: it goes through
	 * policy again and is reported as new (ct_create() replaces the entry). */
	if (e && (e->flags & CT_F_CLOSING) && (t->tcp_flags & (TCP_F_SYN | TCP_F_ACK)) == TCP_F_SYN) {
		rep->flags = 0;
		return CT_NEW;
	}
	if (e) {
		__sync_fetch_and_add(&e->tx_packets, 1);
		__sync_fetch_and_add(&e->tx_bytes, len);
	} else {
		ct_key_from(&key, t, dir == CT_EGRESS ? CT_INGRESS : CT_EGRESS, 1);
		e = bpf_map_lookup_elem(&hypha_ct, &key);
		if (!e) {
			rep->flags = 0;
			return CT_NEW;
		}
		__sync_fetch_and_add(&e->rx_packets, 1);
		__sync_fetch_and_add(&e->rx_bytes, len);
		status = CT_REPLY;
	}
	rep->flags = ct_touch(e, t, now, status == CT_REPLY);
	if (rep->flags) {
		rep->packets = e->tx_packets + e->rx_packets;
		rep->bytes = e->tx_bytes + e->rx_bytes;
	}
	*opener = e->src_identity;
	return status;
}

/* Records a new connection opened by `src_identity`, with its first packet of `len` bytes. */
__always_inline_hypha void ct_create(const struct hypha_tuple *t, __u8 dir, __u32 len,
				     __u32 src_identity)
{
	struct ct_key key;
	struct ct_entry fresh = {
		.tx_packets = 1,
		.tx_bytes = len,
		.src_identity = src_identity,
		.tcp_flags = t->tcp_flags,
	};
	if (t->tcp_flags & (TCP_F_FIN | TCP_F_RST))
		fresh.flags = CT_F_CLOSING;
	fresh.last_report = hypha_now();
	fresh.expires = fresh.last_report + ct_lifetime(t, fresh.flags) * NS_PER_SEC;
	ct_key_from(&key, t, dir, 0);
	bpf_map_update_elem(&hypha_ct, &key, &fresh, BPF_ANY);
}

#endif /* HYPHA_CONNTRACK_H */
