/* nat.h — source translation to the node's address: masquerading (pod traffic that leaves the
 * cluster is SNATed to the node's IPv4 address at the uplink) and the load balancer's SNAT of
 * requests it sends to remote backends (IPv4 and IPv6); the replies are translated back.
 *
 * Contract: each translated flow has two entries in hypha_snat, created together: the egress
 * entry (the pod's original tuple, CT_EGRESS) holds the node address and port it was given;
 * the ingress entry (the reply tuple as it arrives from outside, CT_INGRESS) holds the pod's
 * address and port. Ports come from [nat_port_min, nat_port_max] of hypha_config, outside the
 * kernel's ephemeral range by default so they never collide with the node's own sockets (whose
 * replies would otherwise be taken for a translation's). The reply of a translation is one, also
 * on the port of a service frontend (a HostPort in the range, a NodePort range that overlaps
 * it): the load balancer asks snat_is_reply() first, as the kernel's conntrack finds a reply
 * before NAT rules are consulted. The ICMP echo id is translated like a port. Masquerade is
 * IPv4 only (IPv6 pod addresses are expected to be routable). Entries expire like conntrack
 * entries and the agent garbage-collects them.
 *
 * A closed TCP translation gives its port to a new connection's SYN at once, as the kernel's
 * conntrack lets a SYN reopen a TIME_WAIT or CLOSE tuple: when it ended with a RST, or with
 * FINs both ways where the original source closed first (so the TIME_WAIT is on the source's
 * side, not at the destination that would see the new SYN). The reply-side entry keeps how the
 * connection closed (NAT_F_*).
 */
#ifndef HYPHA_NAT_H
#define HYPHA_NAT_H

#include "common.h"
#include "config.h"
#include "conntrack.h"
#include "drop.h"
#include "l3.h"
#include "parse.h"

#ifndef HYPHA_NAT_SIZE
#define HYPHA_NAT_SIZE 131072
#endif
#define NAT_PORT_TRIES 16

/* How a translated TCP connection closed, in its reply-side entry. */
enum nat_flag {
	NAT_F_FIN_OUT = 0x1,   /* a FIN from the original source */
	NAT_F_FIN_IN = 0x2,    /* a FIN from the other side */
	NAT_F_OUT_FIRST = 0x4, /* the original source sent the first FIN */
	NAT_F_RST = 0x8,
};

struct nat_entry {
	__u32 to_addr[4]; /* network order */
	__u16 to_port;    /* network order */
	__u16 flags;      /* NAT_F_*, reply-side entries */
	__u32 pad;
	__u64 expires; /* CLOCK_BOOTTIME ns */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct ct_key);
	__type(value, struct nat_entry);
	__uint(max_entries, HYPHA_NAT_SIZE);
} hypha_snat SEC(".maps");

/* A translation lives as long as its connection would in conntrack: a FIN or RST shortens it to
 * the closing lifetime at once (so its port comes back within seconds), traffic extends it at
 * most once per CT_REFRESH_NS. */
__always_inline_hypha void nat_refresh(struct nat_entry *e, const struct hypha_tuple *t, __u64 now)
{
	__u16 flags = CT_F_SEEN_REPLY;
	if (t->tcp_flags & (TCP_F_FIN | TCP_F_RST))
		flags |= CT_F_CLOSING;
	__u64 expires = now + ct_lifetime(t, flags) * NS_PER_SEC;
	if (expires < e->expires || expires > e->expires + CT_REFRESH_NS)
		e->expires = expires;
}

/* Keeps a TCP packet's FIN or RST in the reply-side entry `e`; `out`: from the original source.
 * A SYN from the original source opens a new connection on the tuple: the record starts over. */
__always_inline_hypha void nat_track_close(struct nat_entry *e, const struct hypha_tuple *t,
					   int out)
{
	if (t->proto != IPPROTO_TCP)
		return;
	__u16 flags = e->flags;
	if (out && (t->tcp_flags & (TCP_F_SYN | TCP_F_ACK)) == TCP_F_SYN)
		flags = 0;
	if (t->tcp_flags & TCP_F_RST)
		flags |= NAT_F_RST;
	if ((t->tcp_flags & TCP_F_FIN) && out && !(flags & NAT_F_FIN_OUT))
		flags |= NAT_F_FIN_OUT | (flags & NAT_F_FIN_IN ? 0 : NAT_F_OUT_FIRST);
	if ((t->tcp_flags & TCP_F_FIN) && !out)
		flags |= NAT_F_FIN_IN;
	if (flags != e->flags)
		e->flags = flags;
}

/* Whether a new connection may take the tuple of the translation whose reply-side entry is `e`
 * at once (see the contract above). */
__always_inline_hypha int nat_reusable(const struct nat_entry *e)
{
	return (e->flags & NAT_F_RST) ||
	       (e->flags & (NAT_F_FIN_OUT | NAT_F_FIN_IN | NAT_F_OUT_FIRST)) ==
		       (NAT_F_FIN_OUT | NAT_F_FIN_IN | NAT_F_OUT_FIRST);
}

__always_inline_hypha int tcp_syn(const struct hypha_tuple *t)
{
	return t->proto == IPPROTO_TCP && (t->tcp_flags & (TCP_F_SYN | TCP_F_ACK)) == TCP_F_SYN;
}

/* The reply-side key of a translation: from the flow's destination to what `t`'s source
 * became. */
__always_inline_hypha void nat_reply_key(struct ct_key *rkey, const struct hypha_tuple *t,
					 const __u32 to_addr[4], __u16 to_port)
{
	__builtin_memset(rkey, 0, sizeof(*rkey));
	__builtin_memcpy(rkey->saddr, t->daddr, 16);
	__builtin_memcpy(rkey->daddr, to_addr, 16);
	rkey->sport = t->dport;
	rkey->dport = to_port;
	rkey->proto = t->proto;
	rkey->family = t->family;
	rkey->dir = CT_INGRESS;
	if (t->proto == IPPROTO_ICMP)
		rkey->sport = to_port; /* echo id in both */
}

/* Claims the reply side of a new translation of `t` to node:port (network order) for it:
 * free, held by a translation that has expired (the agent's garbage collection may not have
 * come by yet), or, for a TCP SYN (`syn`), held by a closed one that may be reused at once. The
 * old translation's outbound half then goes too so it can never be found again. `key` is
 * scratch (the stack is tight where this is inlined). Returns 0 when claimed. */
__always_inline_hypha int nat_claim(struct ct_key *key, const struct hypha_tuple *t,
				    const __u32 node[4], __u16 port,
				    const struct nat_entry *reverse, __u64 now, int syn)
{
	nat_reply_key(key, t, node, port);
	if (bpf_map_update_elem(&hypha_snat, key, reverse, BPF_NOEXIST) == 0)
		return 0;
	struct nat_entry *held = bpf_map_lookup_elem(&hypha_snat, key);
	if (!held || (held->expires >= now && !(syn && nat_reusable(held))))
		return -1;
	/* the outbound half of the old translation: its original source, to t's destination */
	__builtin_memcpy(key->saddr, held->to_addr, 16);
	__builtin_memcpy(key->daddr, t->daddr, 16);
	key->sport = held->to_port;
	key->dport = t->proto == IPPROTO_ICMP ? held->to_port : t->dport; /* echo id in both */
	key->dir = CT_EGRESS;
	bpf_map_delete_elem(&hypha_snat, key);
	nat_reply_key(key, t, node, port);
	return bpf_map_update_elem(&hypha_snat, key, reverse, BPF_ANY) == 0 ? 0 : -1;
}

/* Offsets of the source/destination port (or ICMP echo id) of the packet. */
__always_inline_hypha __u32 port_off(const struct hypha_tuple *t, __u32 l4_off, int dest)
{
	if (t->proto == IPPROTO_ICMP)
		return l4_off + 4;
	return l4_off + (dest ? 2 : 0);
}

__always_inline_hypha int nat_translatable(const struct hypha_tuple *t)
{
	return t->family == 4 && (t->proto == IPPROTO_TCP || t->proto == IPPROTO_UDP ||
				  (t->proto == IPPROTO_ICMP && t->sport));
}

/* The node's address of a family, as map words. */
__always_inline_hypha void node_address(const struct node_config *cfg, __u8 family, __u32 out[4])
{
	if (family == 4) {
		out[0] = cfg->node_ipv4;
		out[1] = 0;
		out[2] = 0;
		out[3] = 0;
		return;
	}
	out[0] = cfg->node_ipv6[0];
	out[1] = cfg->node_ipv6[1];
	out[2] = cfg->node_ipv6[2];
	out[3] = cfg->node_ipv6[3];
}

/* Finds or creates the translation of an outgoing flow to the node address of its family;
 * returns 0 and fills `out`. Masquerade uses it for IPv4, the load balancer for both. */
__always_inline_hypha int snat_lookup_or_create(const struct hypha_tuple *t,
						const struct node_config *cfg,
						struct nat_entry *out)
{
	struct ct_key key;
	__u64 now = hypha_now();

	ct_key_from(&key, t, CT_EGRESS, 0);
	struct nat_entry *e = bpf_map_lookup_elem(&hypha_snat, &key);
	if (e) {
		nat_refresh(e, t, now);
		*out = *e;
		if (t->proto == IPPROTO_TCP && (t->tcp_flags & (TCP_F_SYN | TCP_F_FIN | TCP_F_RST))) {
			nat_reply_key(&key, t, out->to_addr, out->to_port); /* key is done with */
			struct nat_entry *back = bpf_map_lookup_elem(&hypha_snat, &key);
			if (back)
				nat_track_close(back, t, 1);
		}
		return 0;
	}

	__u16 min = cfg->nat_port_min, max = cfg->nat_port_max;
	if (!min || max < min)
		return -DROP_NAT_NO_PORT;
	__u32 node[4];
	node_address(cfg, t->family, node);
	if (!node[0] && !node[1] && !node[2] && !node[3])
		return -DROP_NAT_NO_PORT; /* no address of this family to translate to */
	__u32 span = (__u32)max - min + 1;
	__u16 orig = bpf_ntohs(t->sport);
	struct nat_entry reverse = { .to_port = t->sport, .expires = now + CT_LIFETIME_SYN * NS_PER_SEC };
	__builtin_memcpy(reverse.to_addr, t->saddr, 16);
	nat_track_close(&reverse, t, 1);
	int syn = tcp_syn(t);

	/* one key at a time (the stack is tight where this is inlined) */
	__u16 port = 0;
	for (int i = 0; i < NAT_PORT_TRIES; i++) {
		__u16 candidate = (i == 0 && orig >= min && orig <= max)
					  ? orig
					  : (__u16)(min + bpf_get_prandom_u32() % span);
		if (nat_claim(&key, t, node, bpf_htons(candidate), &reverse, now, syn) == 0) {
			port = candidate;
			break;
		}
	}
	if (!port)
		return -DROP_NAT_NO_PORT;

	__builtin_memset(out, 0, sizeof(*out));
	__builtin_memcpy(out->to_addr, node, 16);
	out->to_port = bpf_htons(port);
	out->expires = reverse.expires;
	ct_key_from(&key, t, CT_EGRESS, 0);
	if (bpf_map_update_elem(&hypha_snat, &key, out, BPF_ANY)) {
		nat_reply_key(&key, t, node, out->to_port);
		bpf_map_delete_elem(&hypha_snat, &key);
		return -DROP_MAP_FULL;
	}
	return 0;
}

/* SNATs an outgoing packet to the node address of its family and updates `t` to the
 * translated tuple. Masquerade calls it for IPv4 pod traffic leaving the cluster. */
__always_inline_hypha int snat_xlate(struct __sk_buff *skb, const struct hypha_packet *pkt,
				     struct hypha_tuple *t, const struct node_config *cfg)
{
	struct nat_entry to;
	int ret = snat_lookup_or_create(t, cfg, &to);
	if (ret)
		return ret;
	ret = rewrite_addr(skb, t->family, 0, t->proto, pkt->l4_off, t->saddr, to.to_addr);
	if (ret)
		return ret;
	if (to.to_port != t->sport)
		ret = rewrite_l4_port(skb, port_off(t, pkt->l4_off, 0), t->proto, pkt->l4_off,
				      t->sport, to.to_port);
	__builtin_memcpy(t->saddr, to.to_addr, 16);
	t->sport = to.to_port;
	return ret;
}

__always_inline_hypha int snat_v4(struct __sk_buff *skb, const struct hypha_packet *pkt,
				  const struct hypha_tuple *t, const struct node_config *cfg)
{
	struct hypha_tuple copy = *t;
	return snat_xlate(skb, pkt, &copy, cfg);
}

/* Translates a reply arriving for the node address back to the flow's original source.
 * Returns 1 when the packet was translated (and updates `t` to the original tuple), 0 when it
 * is not a translated flow. */
__always_inline_hypha int rev_snat(struct __sk_buff *skb, const struct hypha_packet *pkt,
				   struct hypha_tuple *t)
{
	struct ct_key key;
	ct_key_from(&key, t, CT_INGRESS, 0);
	struct nat_entry *e = bpf_map_lookup_elem(&hypha_snat, &key);
	if (!e)
		return 0;
	nat_refresh(e, t, hypha_now());
	nat_track_close(e, t, 0);
	__u32 to_addr[4] = { e->to_addr[0], e->to_addr[1], e->to_addr[2], e->to_addr[3] };
	__u16 to_port = e->to_port;
	int ret = rewrite_addr(skb, t->family, 1, t->proto, pkt->l4_off, t->daddr, to_addr);
	if (ret)
		return ret;
	/* ICMP: the echo id sits at the same offset in requests and replies */
	if (to_port != t->dport) {
		ret = rewrite_l4_port(skb, port_off(t, pkt->l4_off, 1), t->proto, pkt->l4_off,
				      t->dport, to_port);
		if (ret)
			return ret;
	}
	__builtin_memcpy(t->daddr, to_addr, 16);
	t->dport = to_port;
	if (t->proto == IPPROTO_ICMP)
		t->sport = to_port;
	return 1;
}

/* Whether a packet addressed to the node may be the reply of a flow SNATed to it: TCP, UDP or
 * an ICMP echo, to the node address of its family. (Any port: a translation made before the
 * range changed keeps its port until it ends.) */
__always_inline_hypha int snat_reply_candidate(const struct hypha_tuple *t,
					       const struct node_config *cfg)
{
	if (t->proto != IPPROTO_TCP && t->proto != IPPROTO_UDP &&
	    !(t->proto == IPPROTO_ICMP && t->sport))
		return 0;
	__u32 node[4];
	node_address(cfg, t->family, node);
	return t->daddr[0] == node[0] && t->daddr[1] == node[1] && t->daddr[2] == node[2] &&
	       t->daddr[3] == node[3] && (node[0] | node[1] | node[2] | node[3]);
}

/* Whether a packet addressed to the node's frontend is the reply of a translated flow. Only
 * ports in the NAT range are looked up, so a NodePort outside it costs nothing per packet. */
__always_inline_hypha int snat_is_reply(const struct hypha_tuple *t, const struct node_config *cfg)
{
	__u16 port = bpf_ntohs(t->dport);
	if (port < cfg->nat_port_min || port > cfg->nat_port_max || !snat_reply_candidate(t, cfg))
		return 0;
	struct ct_key key;
	ct_key_from(&key, t, CT_INGRESS, 0);
	return bpf_map_lookup_elem(&hypha_snat, &key) != NULL;
}

#endif /* HYPHA_NAT_H */
