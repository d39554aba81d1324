/* parse.h — bounds-checked header parsing for tc programs.
 *
 * Contract: every accessor checks against data_end and returns a negative DROP_* reason when the
 * packet is too short, so callers never read past the packet. Offsets are from the Ethernet
 * header. IPv6 extension headers are not walked yet (the next header is taken as L4).
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

#endif /* HYPHA_PARSE_H */
