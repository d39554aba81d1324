/* pktgen.h — a small packet builder for datapath tests.
 *
 * Contract: build a packet in a struct pktgen (stack buffer of PKTGEN_MAX bytes) with the push
 * helpers, in order (Ethernet, then IPv4 or IPv6, then TCP/UDP/ICMP, then payload), and write it
 * into the skb with pktgen_finish(). Lengths and checksums of the IP header are filled in by
 * pktgen_finish (the IPv4 header checksum and, for IPv4, the TCP/UDP/ICMP checksum; IPv6 L4
 * checksums are left 0 unless pktgen_set_l4_csum_v6 sets them). Addresses and ports are given in
 * host byte order.
 */
#ifndef HYPHA_PKTGEN_H
#define HYPHA_PKTGEN_H

#include "common.h"

#define PKTGEN_MAX 192

/* buf starts 2 bytes past an 8-byte boundary so the IP header (after 14 bytes of Ethernet) is
 * 4-byte aligned on the stack, as the verifier requires for word stores. */
struct pktgen {
	__u32 len;
	__u32 l3_off;
	__u32 l4_off;
	__u16 l3_proto;
	__u8 l4_proto;
	__u8 pad;
	__u8 align[2];
	__u8 buf[PKTGEN_MAX];
} __attribute__((aligned(8)));

static __always_inline void pktgen_init(struct pktgen *p)
{
	__builtin_memset(p, 0, sizeof(*p));
}

static __always_inline void pktgen_eth(struct pktgen *p, __u16 proto)
{
	struct ethhdr *eth = (void *)p->buf;
	const __u8 src[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	const __u8 dst[6] = { 0x02, 0, 0, 0, 0, 0x02 };

	__builtin_memcpy(eth->h_source, src, 6);
	__builtin_memcpy(eth->h_dest, dst, 6);
	eth->h_proto = bpf_htons(proto);
	p->l3_proto = proto;
	p->l3_off = sizeof(*eth);
	p->len = sizeof(*eth);
}

static __always_inline void pktgen_ipv4(struct pktgen *p, __u32 saddr, __u32 daddr, __u8 proto)
{
	pktgen_eth(p, ETH_P_IP);
	struct iphdr *ip = (void *)(p->buf + sizeof(struct ethhdr));
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = proto;
	ip->saddr = bpf_htonl(saddr);
	ip->daddr = bpf_htonl(daddr);
	p->l4_proto = proto;
	p->l4_off = sizeof(struct ethhdr) + sizeof(struct iphdr);
	p->len = p->l4_off;
}

/* IPv6 addresses as four host-order words, most significant first. */
static __always_inline void pktgen_ipv6(struct pktgen *p, const __u32 saddr[4],
					const __u32 daddr[4], __u8 proto)
{
	pktgen_eth(p, ETH_P_IPV6);
	struct ipv6hdr *ip6 = (void *)(p->buf + sizeof(struct ethhdr));
	ip6->version = 6;
	ip6->hop_limit = 64;
	ip6->nexthdr = proto;
	for (int i = 0; i < 4; i++) {
		ip6->saddr.in6_u.u6_addr32[i] = bpf_htonl(saddr[i]);
		ip6->daddr.in6_u.u6_addr32[i] = bpf_htonl(daddr[i]);
	}
	p->l4_proto = proto;
	p->l4_off = sizeof(struct ethhdr) + sizeof(struct ipv6hdr);
	p->len = p->l4_off;
}

static __always_inline void pktgen_tcp(struct pktgen *p, __u16 sport, __u16 dport, __u8 flags)
{
	struct tcphdr *tcp = (void *)(p->buf + p->l4_off);
	if ((void *)(tcp + 1) > (void *)(p->buf + PKTGEN_MAX))
		return;
	tcp->source = bpf_htons(sport);
	tcp->dest = bpf_htons(dport);
	tcp->doff = 5;
	((__u8 *)tcp)[13] = flags; /* FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10 */
	tcp->window = bpf_htons(65535);
	p->len = p->l4_off + sizeof(*tcp);
}

static __always_inline void pktgen_udp(struct pktgen *p, __u16 sport, __u16 dport)
{
	struct udphdr *udp = (void *)(p->buf + p->l4_off);
	if ((void *)(udp + 1) > (void *)(p->buf + PKTGEN_MAX))
		return;
	udp->source = bpf_htons(sport);
	udp->dest = bpf_htons(dport);
	p->len = p->l4_off + sizeof(*udp);
}

/* ICMP (v4) or ICMPv6 echo request, depending on the L3 protocol. */
static __always_inline void pktgen_icmp_echo(struct pktgen *p, __u16 id, __u16 seq)
{
	__u8 *icmp = p->buf + p->l4_off;
	if (icmp + 8 > p->buf + PKTGEN_MAX)
		return;
	icmp[0] = p->l3_proto == ETH_P_IP ? 8 : 128;
	icmp[1] = 0;
	*(__u16 *)(icmp + 4) = bpf_htons(id);
	*(__u16 *)(icmp + 6) = bpf_htons(seq);
	p->len = p->l4_off + 8;
}

/* Appends `n` bytes of a repeating pattern (n must be a constant). */
static __always_inline void pktgen_payload(struct pktgen *p, __u32 n)
{
	for (__u32 i = 0; i < n && i < PKTGEN_MAX; i++) {
		__u32 at = p->len + i;
		if (at >= PKTGEN_MAX)
			break;
		p->buf[at] = (__u8)(i & 0xff);
	}
	p->len = p->len + n > PKTGEN_MAX ? PKTGEN_MAX : p->len + n;
}

static __always_inline __u16 pktgen_csum(const __u8 *b, __u32 n)
{
	__u32 sum = 0;
	for (__u32 i = 0; i + 1 < n && i < 60; i += 2)
		sum += ((__u32)b[i] << 8) | b[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return bpf_htons((__u16)~sum);
}

/* The TCP/UDP/ICMP checksum of an IPv4 packet in the builder (pseudo header for TCP/UDP). */
static __always_inline __u16 pktgen_l4_csum_v4(const struct pktgen *p)
{
	__u32 sum = 0, l4_len = p->len - p->l4_off;
	const __u8 *ip = p->buf + sizeof(struct ethhdr);
	if (p->l4_proto != IPPROTO_ICMP) {
		for (__u32 i = 12; i < 20; i += 2)
			sum += ((__u32)ip[i] << 8) | ip[i + 1];
		sum += p->l4_proto + l4_len;
	}
	for (__u32 i = 0; i < PKTGEN_MAX; i += 2) {
		__u32 at = p->l4_off + i;
		if (i >= l4_len || at >= PKTGEN_MAX)
			break;
		__u32 hi = p->buf[at];
		__u32 lo = (i + 1 < l4_len && at + 1 < PKTGEN_MAX) ? p->buf[at + 1] : 0;
		sum += (hi << 8) | lo;
	}
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	__u16 csum = bpf_htons((__u16)~sum);
	return (p->l4_proto == IPPROTO_UDP && csum == 0) ? 0xffff : csum;
}

/* Sets the TCP/UDP/ICMPv6 checksum of an IPv6 packet in the builder (the pseudo header of
 * RFC 8200 8.1: addresses, L4 length, next header), which pktgen_finish leaves 0. Call it after
 * the last push, before pktgen_finish; it fills in the UDP length itself. */
static __always_inline void pktgen_set_l4_csum_v6(struct pktgen *p)
{
	__u32 l4_len = p->len - p->l4_off;
	const __u8 *ip6 = p->buf + sizeof(struct ethhdr);
	__u32 csum_at = p->l4_proto == IPPROTO_TCP ? 16 : p->l4_proto == IPPROTO_UDP ? 6 : 2;
	if (p->l3_proto != ETH_P_IPV6 || p->l4_off + csum_at + 2 > p->len ||
	    p->l4_off + csum_at + 2 > PKTGEN_MAX || p->l4_off < sizeof(struct ethhdr) + 40)
		return;
	if (p->l4_proto == IPPROTO_UDP)
		((struct udphdr *)(p->buf + p->l4_off))->len = bpf_htons(l4_len);
	__u16 *field = (__u16 *)(p->buf + p->l4_off + csum_at);
	*field = 0;
	__u32 sum = p->l4_proto + l4_len;
	for (__u32 i = 8; i < 40; i += 2)
		sum += ((__u32)ip6[i] << 8) | ip6[i + 1];
	for (__u32 i = 0; i < PKTGEN_MAX; i += 2) {
		__u32 at = p->l4_off + i;
		if (i >= l4_len || at >= PKTGEN_MAX)
			break;
		__u32 hi = p->buf[at];
		__u32 lo = (i + 1 < l4_len && at + 1 < PKTGEN_MAX) ? p->buf[at + 1] : 0;
		sum += (hi << 8) | lo;
	}
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	__u16 csum = bpf_htons((__u16)~sum);
	*field = (p->l4_proto == IPPROTO_UDP && csum == 0) ? 0xffff : csum;
}

/* Fixes up lengths and the IPv4 checksum, resizes the skb and writes the packet into it. */
static __always_inline int pktgen_finish(struct __sk_buff *ctx, struct pktgen *p)
{
	__u32 len = p->len;
	if (len < sizeof(struct ethhdr) || len > PKTGEN_MAX)
		return -1;
	if (p->l3_proto == ETH_P_IP) {
		struct iphdr *ip = (void *)(p->buf + sizeof(struct ethhdr));
		ip->tot_len = bpf_htons(len - sizeof(struct ethhdr));
		ip->check = 0;
		ip->check = pktgen_csum((const __u8 *)ip, sizeof(*ip));
	} else if (p->l3_proto == ETH_P_IPV6) {
		struct ipv6hdr *ip6 = (void *)(p->buf + sizeof(struct ethhdr));
		ip6->payload_len = bpf_htons(len - sizeof(struct ethhdr) - sizeof(*ip6));
	}
	if (p->l4_proto == IPPROTO_UDP && p->l4_off + sizeof(struct udphdr) <= len &&
	    p->l4_off < PKTGEN_MAX - sizeof(struct udphdr)) {
		struct udphdr *udp = (void *)(p->buf + p->l4_off);
		udp->len = bpf_htons(len - p->l4_off);
	}
	/* L4 checksums (IPv4): zeroed, then computed over the finished header and payload */
	__u32 csum_at = p->l4_proto == IPPROTO_TCP ? 16 : p->l4_proto == IPPROTO_UDP ? 6 : 2;
	if (p->l3_proto == ETH_P_IP && p->l4_off + csum_at + 2 <= len &&
	    p->l4_off + csum_at + 2 <= PKTGEN_MAX &&
	    (p->l4_proto == IPPROTO_TCP || p->l4_proto == IPPROTO_UDP || p->l4_proto == IPPROTO_ICMP)) {
		__u16 *field = (__u16 *)(p->buf + p->l4_off + csum_at);
		*field = 0;
		*field = pktgen_l4_csum_v4(p);
	}
	if (bpf_skb_change_tail(ctx, len, 0))
		return -1;
	/* store in fixed-size pieces so the verifier sees constant lengths */
	for (__u32 off = 0; off < PKTGEN_MAX; off += 16) {
		if (off >= len)
			break;
		__u32 n = len - off >= 16 ? 16 : len - off;
		if (n == 16) {
			if (bpf_skb_store_bytes(ctx, off, p->buf + off, 16, 0))
				return -1;
		} else {
			for (__u32 i = 0; i < 16 && i < n; i++)
				if (bpf_skb_store_bytes(ctx, off + i, p->buf + off + i, 1, 0))
					return -1;
		}
	}
	return 0;
}

#endif /* HYPHA_PKTGEN_H */
