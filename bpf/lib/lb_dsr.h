/* lb_dsr.h — direct server return: the node that balanced a request forwards it to the
 * backend's node with the client's address intact, and the backend's node answers the client
 * itself with the service address. The service address travels in an IPv4 option on the first
 * packet of a flow (a TCP SYN; every UDP datagram, which has no handshake):
 *
 *   type 0x9e (RFC 4727 experimental, copied flag set), length 8, port (2, network order),
 *   address (4)
 *
 * The backend's node (lb_dsr_ingress) records it in hypha_lb_rev, keyed by the reply's tuple,
 * when it names a frontend this node serves too (every node knows every service), and delivers
 * the packet with the option: Linux accepts unknown options on received packets.
 * IPv4 only (IPv6 frontends use SNAT). Requests that already carry IP options are SNATed.
 */
#ifndef HYPHA_LB_DSR_H
#define HYPHA_LB_DSR_H

#include "common.h"
#include "config.h"
#include "drop.h"
#include "ipcache.h"
#include "lb.h"
#include "parse.h"

#define DSR_OPT_TYPE 0x9e
#define DSR_OPT_LEN 8

struct dsr_opt {
	__u8 type;
	__u8 len;
	__u16 port;
	__u32 addr;
};

__always_inline_hypha int dsr_wants_option(const struct hypha_tuple *t)
{
	if (t->proto == IPPROTO_UDP)
		return 1;
	return t->proto == IPPROTO_TCP && (t->tcp_flags & (TCP_F_SYN | TCP_F_ACK)) == TCP_F_SYN;
}

/* Inserts the option after the IPv4 header (which must have none) of a packet bound for a
 * remote backend; `vip`/`vport` in network order. */
__always_inline_hypha int dsr_add_option(struct __sk_buff *skb, __u32 vip, __u16 vport)
{
	struct iphdr ip;
	if (bpf_skb_load_bytes(skb, 14, &ip, sizeof(ip)))
		return -DROP_INVALID_PACKET;
	if (ip.ihl != 5)
		return -DROP_INVALID_PACKET;
	if (bpf_skb_adjust_room(skb, DSR_OPT_LEN, BPF_ADJ_ROOM_NET, 0))
		return -DROP_INVALID_PACKET;
	struct {
		struct iphdr ip;
		struct dsr_opt opt;
	} h = { .ip = ip };
	h.ip.ihl = 7;
	h.ip.tot_len = bpf_htons(bpf_ntohs(ip.tot_len) + DSR_OPT_LEN);
	h.ip.check = 0;
	h.opt.type = DSR_OPT_TYPE;
	h.opt.len = DSR_OPT_LEN;
	h.opt.port = vport;
	h.opt.addr = vip;
	__s64 sum = bpf_csum_diff(NULL, 0, (__u32 *)&h, sizeof(h), 0);
	if (sum < 0)
		return -DROP_INVALID_PACKET;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	h.ip.check = (__u16)~sum;
	if (bpf_skb_store_bytes(skb, 14, &h, sizeof(h), 0))
		return -DROP_INVALID_PACKET;
	return 0;
}

/* On the backend's node: a request carrying the option leaves the service address for the
 * reply. Returns 0 (with or without an option) or -DROP_*. */
__always_inline_hypha int dsr_record(struct __sk_buff *skb, const struct hypha_packet *pkt,
				     const struct hypha_tuple *t, const struct node_config *cfg)
{
	if (t->family != 4 || pkt->l4_off != 14 + 20 + DSR_OPT_LEN)
		return 0;
	struct dsr_opt opt;
	if (bpf_skb_load_bytes(skb, 14 + 20, &opt, sizeof(opt)))
		return -DROP_INVALID_PACKET;
	if (opt.type != DSR_OPT_TYPE || opt.len != DSR_OPT_LEN)
		return 0;
	/* Anyone who reaches a pod could send the option: it is honoured only when it names a
	 * service frontend this node knows, so a reply can never be made to come from anywhere
	 * else. */
	__u32 vip[4] = { opt.addr, 0, 0, 0 };
	struct lb_frontend *fe = lb_frontend(vip, opt.port, t->proto, 4);
	if (!fe) {
		/* a NodePort of another node: this node serves the same port on its address */
		struct ipcache_value *node = ipcache_lookup(vip, 4);
		__u32 self[4] = { cfg->node_ipv4, 0, 0, 0 };
		if (node && (node->flags & IPCACHE_F_NODE))
			fe = lb_frontend(self, opt.port, t->proto, 4);
	}
	if (!fe || !(fe->flags & LB_FE_EXTERNAL))
		return 0;
	struct ct_key key;
	ct_key_from(&key, t, CT_INGRESS, 1); /* the reply's tuple: backend -> client */
	struct lb_rev_entry rev = {
		.expires = hypha_now() + ct_lifetime(t, CT_F_SEEN_REPLY) * NS_PER_SEC,
		.port = opt.port,
		.family = 4,
	};
	rev.addr[0] = opt.addr;
	bpf_map_update_elem(&hypha_lb_rev, &key, &rev, BPF_ANY);
	return 0;
}

#endif /* HYPHA_LB_DSR_H */
