/* parse.h — bounds-checked header parsing for tc programs.
 *
 * Contract: every accessor checks against data_end and returns a negative DROP_* reason when the
 * packet is too short, so callers never read past the packet. Offsets are from the Ethernet
 * header. IPv6 extension headers are not walked yet (the next header is taken as L4).
 * parse_tuple() then reads the flow (addresses, ports, TCP flags) of an IP packet.
 */
#ifndef HYPHA_PARSE_H
#define HYPHA_PARSE_H

#include "common.h"
#include "drop.h"

struct hypha_packet {
	__u16 l3_proto; /* host byte order: ETH_P_IP, ETH_P_IPV6, ETH_P_ARP, ... */
	__u8 l4_proto;  /* IPPROTO_* or 0 */
	__u8 pad;
	__u32 l4_off;
};

#define ICMP_ECHO_REQUEST 8
#define ICMP_ECHO_REPLY 0
#define ICMPV6_ECHO_REQUEST 128
#define ICMPV6_ECHO_REPLY 129

__always_inline_hypha int icmp_is_echo(__u8 proto, __u8 type)
{
	if (proto == IPPROTO_ICMP)
		return type == ICMP_ECHO_REQUEST || type == ICMP_ECHO_REPLY;
	return type == ICMPV6_ECHO_REQUEST || type == ICMPV6_ECHO_REPLY;
}

/* Parses Ethernet and IP headers. Returns 0, or -DROP_* when the packet is malformed. */
__always_inline_hypha int parse_packet(struct __sk_buff *skb, struct hypha_packet *pkt)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return -DROP_INVALID_PACKET;
	pkt->l3_proto = bpf_ntohs(eth->h_proto);
	pkt->l4_proto = 0;
	pkt->l4_off = 0;

	if (pkt->l3_proto == ETH_P_IP) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > data_end)
			return -DROP_INVALID_PACKET;
		if (ip->ihl < 5)
			return -DROP_INVALID_PACKET;
		pkt->l4_proto = ip->protocol;
		pkt->l4_off = sizeof(*eth) + ip->ihl * 4;
	} else if (pkt->l3_proto == ETH_P_IPV6) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > data_end)
			return -DROP_INVALID_PACKET;
		pkt->l4_proto = ip6->nexthdr;
		pkt->l4_off = sizeof(*eth) + sizeof(*ip6);
	} else {
		return 0;
	}

	/* The L4 header must be present for the protocols hypha looks into. */
	__u32 need = 0;
	switch (pkt->l4_proto) {
	case IPPROTO_TCP:
		need = sizeof(struct tcphdr);
		break;
	case IPPROTO_UDP:
		need = sizeof(struct udphdr);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		need = 4;
		break;
	}
	if (pkt->l4_off > 0xffff || data + pkt->l4_off + need > data_end)
		return -DROP_INVALID_PACKET;
	return 0;
}

/* The flow a packet belongs to. Addresses and ports in network order; an IPv4 address occupies
 * word 0 of the 4-word arrays (the rest zero), matching the map keys. ICMP echo requests and
 * replies carry the echo id in both sport and dport, so a reply matches its request reversed;
 * other ICMP messages have ports 0. */
struct hypha_tuple {
	__u32 saddr[4];
	__u32 daddr[4];
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 family; /* 4 or 6 */
	__u8 tcp_flags;
	__u8 ttl;       /* TTL or hop limit as received */
	__u8 icmp_type; /* ICMP / ICMPv6 type, for policy */
	__u8 pad[3];
};

#define TCP_F_FIN 0x01
#define TCP_F_SYN 0x02
#define TCP_F_RST 0x04
#define TCP_F_ACK 0x10

/* Fills `t` from a packet parse_packet() accepted as IPv4 or IPv6. Returns 0 or -DROP_*. */
__always_inline_hypha int parse_tuple(struct __sk_buff *skb, const struct hypha_packet *pkt,
				      struct hypha_tuple *t)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	__builtin_memset(t, 0, sizeof(*t));
	t->proto = pkt->l4_proto;
	if (pkt->l3_proto == ETH_P_IP) {
		struct iphdr *ip = data + sizeof(struct ethhdr);
		if ((void *)(ip + 1) > data_end)
			return -DROP_INVALID_PACKET;
		t->family = 4;
		t->saddr[0] = ip->saddr;
		t->daddr[0] = ip->daddr;
		t->ttl = ip->ttl;
	} else if (pkt->l3_proto == ETH_P_IPV6) {
		struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);
		if ((void *)(ip6 + 1) > data_end)
			return -DROP_INVALID_PACKET;
		t->family = 6;
		__builtin_memcpy(t->saddr, &ip6->saddr, 16);
		__builtin_memcpy(t->daddr, &ip6->daddr, 16);
		t->ttl = ip6->hop_limit;
	} else {
		return -DROP_UNKNOWN_L3;
	}

	__u32 off = pkt->l4_off;
	if (off > 0xffff)
		return -DROP_INVALID_PACKET;
	__u8 *l4 = data + off;
	switch (t->proto) {
	case IPPROTO_TCP:
		if (l4 + 14 > (__u8 *)data_end)
			return -DROP_INVALID_PACKET;
		t->sport = *(__u16 *)l4;
		t->dport = *(__u16 *)(l4 + 2);
		t->tcp_flags = l4[13];
		break;
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
		if (l4 + 4 > (__u8 *)data_end)
			return -DROP_INVALID_PACKET;
		t->sport = *(__u16 *)l4;
		t->dport = *(__u16 *)(l4 + 2);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (l4 + 8 > (__u8 *)data_end)
			return -DROP_INVALID_PACKET;
		t->icmp_type = l4[0];
		if (icmp_is_echo(t->proto, l4[0])) {
			t->sport = *(__u16 *)(l4 + 4);
			t->dport = t->sport;
		}
		break;
	}
	return 0;
}

#define PARSE_NOT_IP 1

/* Parses an IP packet's headers and flow into `pkt` and `t`. Returns 0, PARSE_NOT_IP for other
 * frames (ARP, ...), which forwarding stages hand to the stack, or -DROP_*. */
__always_inline_hypha int parse_ip_flow(struct __sk_buff *skb, struct hypha_packet *pkt,
					struct hypha_tuple *t)
{
	int ret = parse_packet(skb, pkt);
	if (ret < 0)
		return ret;
	if (pkt->l3_proto != ETH_P_IP && pkt->l3_proto != ETH_P_IPV6)
		return PARSE_NOT_IP;
	return parse_tuple(skb, pkt, t);
}

#endif /* HYPHA_PARSE_H */
