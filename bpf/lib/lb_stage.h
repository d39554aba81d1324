/* lb_stage.h — per-packet service load balancing where traffic arrives from the network, and
 * the reverse translation of its replies. Compiled into the plugin's variants of core's stages
 * (bpf_lb.c defines HYPHA_LB; see the hook points of host.h, lxc.h and overlay.h).
 *
 * Contract:
 * - lb_from_netdev(): a packet for a frontend with LB_FE_EXTERNAL (a NodePort, LoadBalancer or
 *   external IP, a HostPort) keeps the backend its flow has in hypha_lb_ct, or gets one
 *   (affinity, Maglev or random). The destination becomes the backend. A backend on this node
 *   gets the packet straight away, the client's address intact; a remote backend gets it with
 *   the source translated to this node (SNAT, the default) or, in DSR mode (IPv4), with the
 *   client's address and the service address in an IP option. A frontend without backends
 *   refuses (TCP RST, ICMP port unreachable) or, with LB_FE_DROP_EMPTY, drops. Returns
 *   STAGE_NEXT for packets that are not for a frontend, and for replies of translated flows
 *   that arrive on a frontend's port (nat.h).
 * - lb_rev_xlate(): a packet whose tuple (backend -> client) is in hypha_lb_rev gets the
 *   service address as its source. Returns 1 when translated, 0 when not, or -DROP_*.
 * - lb_dsr_ingress(): see lb_dsr.h.
 * SCTP is balanced at the socket only: its CRC32c checksum cannot be updated incrementally.
 */
#ifndef HYPHA_LB_STAGE_H
#define HYPHA_LB_STAGE_H

#include "common.h"
#include "config.h"
#include "conntrack.h"
#include "counters.h"
#include "deliver.h"
#include "drop.h"
#include "endpoint.h"
#include "forward.h"
#include "identity.h"
#include "ipcache.h"
#include "l3.h"
#include "lb.h"
#include "lb_dsr.h"
#include "nat.h"
#include "parse.h"
#include "reject.h"
#include "trace.h"

/* A flow's expiry: a TCP SYN (not answered yet, as far as this path knows) gets conntrack's SYN
 * lifetime, so a flood of unanswered SYNs cannot push live flows out; the packets that follow
 * (an ACK proves the handshake) extend it to the established lifetime. */
__always_inline_hypha __u64 lb_expiry(const struct hypha_tuple *t, __u64 now)
{
	__u16 flags = CT_F_SEEN_REPLY;
	if (t->proto == IPPROTO_TCP && (t->tcp_flags & (TCP_F_SYN | TCP_F_ACK)) == TCP_F_SYN)
		flags = 0;
	if (t->tcp_flags & (TCP_F_FIN | TCP_F_RST))
		flags |= CT_F_CLOSING;
	return now + ct_lifetime(t, flags) * NS_PER_SEC;
}

/* The backend of a flow: the one it has, or a new one. Returns 0 when there is none. */
__always_inline_hypha __u32 lb_flow_backend(const struct hypha_tuple *t,
					    const struct lb_frontend *fe,
					    const struct lb_config *lcfg, __u64 now, int *fresh)
{
	*fresh = 0;
	struct ct_key key;
	ct_key_from(&key, t, CT_EGRESS, 0);
	struct lb_ct_entry *e = bpf_map_lookup_elem(&hypha_lb_ct, &key);
	if (e && e->frontend == fe->id && lb_backend(e->backend)) {
		__u64 expires = lb_expiry(t, now);
		if (expires < e->expires || expires > e->expires + CT_REFRESH_NS)
			e->expires = expires;
		return e->backend;
	}
	__u32 backend = 0;
	struct lb_affinity_key akey = { .frontend = fe->id, .kind = LB_AFFINITY_BY_ADDR };
	__builtin_memcpy(akey.client, t->saddr, 16);
	if (fe->flags & LB_FE_AFFINITY)
		backend = lb_affinity_get(&akey, fe, now);
	if (!backend) {
		__u32 hash = (fe->flags & LB_FE_MAGLEV) ? lb_flow_hash(t, lcfg->seed)
							: bpf_get_prandom_u32();
		backend = lb_select(fe, lcfg, hash);
	}
	if (!backend)
		return 0;
	if (fe->flags & LB_FE_AFFINITY)
		lb_affinity_put(&akey, backend, now);
	struct lb_ct_entry fresh_entry = {
		.expires = lb_expiry(t, now),
		.backend = backend,
		.frontend = fe->id,
	};
	bpf_map_update_elem(&hypha_lb_ct, &key, &fresh_entry, BPF_ANY);
	*fresh = 1;
	return backend;
}

/* Rewrites the destination to the backend; `t` follows. */
__always_inline_hypha int lb_dnat(struct __sk_buff *skb, const struct hypha_packet *pkt,
				  struct hypha_tuple *t, const struct lb_backend *be)
{
	__u32 to[4] = { be->addr[0], be->addr[1], be->addr[2], be->addr[3] };
	int ret = rewrite_addr(skb, t->family, 1, t->proto, pkt->l4_off, t->daddr, to);
	if (ret)
		return ret;
	if (be->port != t->dport) {
		ret = rewrite_l4_port(skb, pkt->l4_off + 2, t->proto, pkt->l4_off, t->dport,
				      be->port);
		if (ret)
			return ret;
	}
	__builtin_memcpy(t->daddr, to, 16);
	t->dport = be->port;
	return 0;
}

/* Leaves the service address for the reply (backend -> client) of a translated flow. */
__always_inline_hypha void lb_rev_put(const struct hypha_tuple *xlated,
				      const struct hypha_tuple *orig, __u64 now)
{
	struct ct_key key;
	ct_key_from(&key, xlated, CT_INGRESS, 1);
	/* the client side of the key is the original client, also when SNAT follows */
	__builtin_memcpy(key.daddr, orig->saddr, 16);
	key.dport = orig->sport;
	struct lb_rev_entry rev = { .expires = lb_expiry(orig, now), .port = orig->dport,
				    .family = orig->family };
	__builtin_memcpy(rev.addr, orig->daddr, 16);
	struct lb_rev_entry *cur = bpf_map_lookup_elem(&hypha_lb_rev, &key);
	if (cur && cur->port == rev.port && cur->family == rev.family &&
	    cur->addr[0] == rev.addr[0] && cur->addr[1] == rev.addr[1] &&
	    cur->addr[2] == rev.addr[2] && cur->addr[3] == rev.addr[3] &&
	    cur->expires + CT_REFRESH_NS > rev.expires)
		return; /* fresh enough: no write per packet */
	bpf_map_update_elem(&hypha_lb_rev, &key, &rev, BPF_ANY);
}

/* Sends a translated packet out of the node without the host stack, which would drop it: its
 * source is now an address of this node (SNAT, or a service address on a node address), a
 * "martian" to the stack's input path. Without a neighbour entry yet, bpf_redirect_neigh()
 * resolves it. */
__always_inline_hypha int lb_redirect(struct __sk_buff *skb, const struct hypha_tuple *t)
{
	return fib_forward(skb, t, FIB_NEIGH | FIB_DEC_TTL);
}

/* Sends a translated request to the node of a remote backend: through the tunnel, or out of
 * the right device (native routing). */
__always_inline_hypha int lb_to_remote(struct __sk_buff *skb, const struct hypha_tuple *t,
				       const struct node_config *cfg, __u32 identity)
{
	struct ipcache_value *info = ipcache_lookup(t->daddr, t->family);
	if (info && info->tunnel_ipv4 && (cfg->flags & CONFIG_F_TUNNEL))
		return encap_to_node(skb, cfg, info->tunnel_ipv4, identity);
	return lb_redirect(skb, t);
}

/* A reply that got its service address back goes to its client: a local pod, a pod behind the
 * tunnel, or out of the node (never through the stack's input path, see lb_redirect()). */
__always_inline_hypha int lb_reply_out(struct __sk_buff *skb, const struct hypha_tuple *t,
				       const struct node_config *cfg, __u32 identity)
{
	struct endpoint_info *ep = lookup_endpoint(t->daddr, t->family);
	if (ep)
		return deliver_local(skb, t, ep, identity, DELIVER_REDIRECT | DELIVER_DEC_TTL);
	struct ipcache_value *info = ipcache_lookup(t->daddr, t->family);
	if (info && info->tunnel_ipv4 && (cfg->flags & CONFIG_F_TUNNEL))
		return encap_to_node(skb, cfg, info->tunnel_ipv4, identity);
	return lb_redirect(skb, t);
}

__always_inline_hypha int lb_from_netdev(struct __sk_buff *skb, const struct hypha_packet *pkt,
					 struct hypha_tuple *t, const struct node_config *cfg)
{
	if (t->proto != IPPROTO_TCP && t->proto != IPPROTO_UDP)
		return STAGE_NEXT;
	struct lb_config *lcfg = lb_config();
	if (!lcfg)
		return STAGE_NEXT;
	struct lb_frontend *fe = lb_frontend(t->daddr, t->dport, t->proto, t->family);
	if (!fe || !(fe->flags & LB_FE_EXTERNAL) || snat_is_reply(t, cfg))
		return STAGE_NEXT;
	if (!lb_source_allowed(fe, t->saddr, t->family))
		return -DROP_LB_SOURCE_RANGE;

	__u64 now = hypha_now();
	int fresh = 0;
	__u32 backend_id = lb_flow_backend(t, fe, lcfg, now, &fresh);
	struct lb_backend *found = backend_id ? lb_backend(backend_id) : NULL;
	if (!found || found->family != t->family) {
		if (fe->flags & LB_FE_DROP_EMPTY)
			return -DROP_NO_BACKEND;
		trace_drop(skb, DROP_LB_REJECTED, HYPHA_DIR_INGRESS); /* before it becomes the reply */
		int ret = reject_packet(skb, pkt, t);
		if (ret >= 0) { /* answered; a packet it cannot answer is counted as the drop */
			count_drop(skb->ifindex, HYPHA_DIR_INGRESS, DROP_LB_REJECTED);
			count_traffic(HYPHA_DIR_INGRESS, DROP_LB_REJECTED, skb->len);
		}
		return ret;
	}
	struct lb_backend be = *found;
	struct hypha_tuple orig = *t;
	int ret = lb_dnat(skb, pkt, t, &be);
	if (ret)
		return ret;
	if (fresh)
		trace_xlate(skb, t, &orig, identity_of(orig.saddr, orig.family),
			    identity_of(t->daddr, t->family));

	struct endpoint_info *ep = lookup_endpoint(t->daddr, t->family);
	if (ep) {
		lb_rev_put(t, &orig, now);
		return deliver_local(skb, t, ep, identity_of(orig.saddr, orig.family),
				     DELIVER_REDIRECT | DELIVER_DEC_TTL);
	}
	if (fe->flags & LB_FE_LOCAL)
		return -DROP_NO_BACKEND; /* a Local frontend never leaves the node */
	if ((lcfg->flags & LB_CFG_F_DSR) && t->family == 4 && pkt->l4_off == 14 + 20) {
		if (dsr_wants_option(t)) {
			ret = dsr_add_option(skb, orig.daddr[0], orig.dport);
			if (ret)
				return ret;
		}
		return lb_to_remote(skb, t, cfg, identity_of(orig.saddr, orig.family));
	}
	ret = snat_xlate(skb, pkt, t, cfg);
	if (ret)
		return ret;
	lb_rev_put(t, &orig, now);
	return lb_to_remote(skb, t, cfg, IDENTITY_HOST);
}

__always_inline_hypha int lb_rev_xlate(struct __sk_buff *skb, const struct hypha_packet *pkt,
				       struct hypha_tuple *t)
{
	if (t->proto != IPPROTO_TCP && t->proto != IPPROTO_UDP)
		return 0;
	struct ct_key key;
	ct_key_from(&key, t, CT_INGRESS, 0);
	struct lb_rev_entry *rev = bpf_map_lookup_elem(&hypha_lb_rev, &key);
	if (!rev || rev->family != t->family)
		return 0;
	__u32 to[4] = { rev->addr[0], rev->addr[1], rev->addr[2], rev->addr[3] };
	__u16 port = rev->port;
	int ret = rewrite_addr(skb, t->family, 0, t->proto, pkt->l4_off, t->saddr, to);
	if (ret)
		return ret;
	if (port != t->sport) {
		ret = rewrite_l4_port(skb, pkt->l4_off, t->proto, pkt->l4_off, t->sport, port);
		if (ret)
			return ret;
	}
	__builtin_memcpy(t->saddr, to, 16);
	t->sport = port;
	return 1;
}

__always_inline_hypha int lb_dsr_ingress(struct __sk_buff *skb, const struct hypha_packet *pkt,
					 const struct hypha_tuple *t, const struct node_config *cfg)
{
	return dsr_record(skb, pkt, t, cfg);
}

#endif /* HYPHA_LB_STAGE_H */
