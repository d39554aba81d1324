/* reject.h — refusing a connection from the datapath: a TCP SYN gets a RST, anything else
 * (UDP) an ICMP / ICMPv6 port unreachable, sent back out of the device it came in on.
 *
 * Contract: reject_packet() turns the packet in place into the answer and returns the redirect
 * verdict (or -DROP_* when it cannot answer: TCP that is not a SYN, IPv4 with options, a RST).
 * The TCP reset is derived from the SYN with incremental checksum updates, so it is right
 * whether or not the checksum is left to the device (CHECKSUM_PARTIAL on veth); the ICMP answer
 * carries full checksums. Callers count the rejection (DROP_LB_REJECTED).
 */
#ifndef HYPHA_REJECT_H
#define HYPHA_REJECT_H

#include "common.h"
#include "drop.h"
#include "helpers.h"
#include "l3.h"
#include "parse.h"

#define REJECT_TTL 64
#define ICMP_DEST_UNREACH 3
#define ICMP_PORT_UNREACH 3
#define ICMPV6_DEST_UNREACH 1
#define ICMPV6_PORT_UNREACH 4

__always_inline_hypha __u16 csum_fold_hypha(__u64 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

__always_inline_hypha int swap_macs(struct __sk_buff *skb)
{
	__u8 macs[12];
	if (bpf_skb_load_bytes(skb, 0, macs, 12))
		return -DROP_INVALID_PACKET;
	return rewrite_macs(skb, macs + 6, macs);
}

/* A 32-bit field of the TCP header changes: updates the checksum incrementally. */
__always_inline_hypha int tcp_set32(struct __sk_buff *skb, __u32 csum_off, __u32 off, __u32 old,
				    __u32 new)
{
	if (old == new)
		return 0;
	if (bpf_l4_csum_replace(skb, csum_off, old, new, 4) ||
	    bpf_skb_store_bytes(skb, off, &new, 4, 0))
		return -DROP_INVALID_PACKET;
	return 0;
}

/* Answers a SYN with RST|ACK (RFC 9293: seq 0, ack = SYN's seq + 1), options and payload cut. */
__always_inline_hypha int reject_tcp(struct __sk_buff *skb, const struct hypha_packet *pkt,
				     const struct hypha_tuple *t)
{
	if ((t->tcp_flags & (TCP_F_SYN | TCP_F_ACK | TCP_F_RST)) != TCP_F_SYN)
		return -DROP_LB_REJECTED; /* only a connection attempt gets an answer */
	__u32 l4 = pkt->l4_off;
	if (l4 > 14 + 40)
		return -DROP_INVALID_PACKET; /* IPv4 options: not answered */
	__u32 csum = l4 + 16;
	struct tcphdr th;
	if (bpf_skb_load_bytes(skb, l4, &th, sizeof(th)))
		return -DROP_INVALID_PACKET;
	__u32 hlen = th.doff * 4;
	__u32 l3_len = t->family == 4 ? 20 : 40;
	if (hlen < 20 || hlen > 60 || l4 != 14 + l3_len)
		return -DROP_INVALID_PACKET;
	/* the IP length, not skb->len: short frames carry Ethernet padding */
	__u16 ip_len;
	if (bpf_skb_load_bytes(skb, t->family == 4 ? 14 + 2 : 14 + 4, &ip_len, 2))
		return -DROP_INVALID_PACKET;
	if (bpf_ntohs(ip_len) != (t->family == 4 ? 20 : 0) + hlen)
		return -DROP_LB_REJECTED; /* a SYN with data: not answered */

	/* The options leave the checksum: subtract them before cutting them off. */
	__u32 opts_len = (hlen - 20) & 0x3c;
	__u32 opts[15] = {};
	if (opts_len) {
		if (bpf_skb_load_bytes(skb, l4 + 20, opts, opts_len))
			return -DROP_INVALID_PACKET;
		__s64 diff = bpf_csum_diff(opts, opts_len & 0x3c, NULL, 0, 0);
		if (diff < 0 || bpf_l4_csum_replace(skb, csum, 0, diff, 0))
			return -DROP_INVALID_PACKET;
	}
	/* seq and ack; addresses and ports swap below without changing the sum */
	__u32 ack = bpf_htonl(bpf_ntohl(th.seq) + 1);
	if (tcp_set32(skb, csum, l4 + 4, th.seq, 0) || tcp_set32(skb, csum, l4 + 8, th.ack_seq, ack))
		return -DROP_INVALID_PACKET;
	/* data offset 5, flags RST|ACK, window 0, urgent pointer 0 */
	__u32 old_word, new_word = bpf_htonl((5u << 28) | ((__u32)(TCP_F_RST | TCP_F_ACK) << 16));
	if (bpf_skb_load_bytes(skb, l4 + 12, &old_word, 4) ||
	    tcp_set32(skb, csum, l4 + 12, old_word, new_word))
		return -DROP_INVALID_PACKET;
	/* the urgent pointer (l4 + 18) only: l4 + 16 is the checksum being updated */
	if (th.urg_ptr) {
		__u16 zero = 0;
		if (bpf_l4_csum_replace(skb, csum, th.urg_ptr, 0, 2) ||
		    bpf_skb_store_bytes(skb, l4 + 18, &zero, 2, 0))
			return -DROP_INVALID_PACKET;
	}
	/* the pseudo-header's length: hlen -> 20 */
	__u32 old_len = bpf_htonl(hlen), new_len = bpf_htonl(20);
	if (hlen != 20 && bpf_l4_csum_replace(skb, csum, old_len, new_len, BPF_F_PSEUDO_HDR | 4))
		return -DROP_INVALID_PACKET;

	/* ports */
	__u16 ports[2] = { t->dport, t->sport };
	if (bpf_skb_store_bytes(skb, l4, ports, 4, 0))
		return -DROP_INVALID_PACKET;
	/* addresses, TTL / hop limit and length */
	if (t->family == 4) {
		__u32 addrs[2] = { t->daddr[0], t->saddr[0] };
		if (bpf_skb_store_bytes(skb, IPV4_SADDR_OFF, addrs, 8, 0))
			return -DROP_INVALID_PACKET;
		__u16 old_tot, new_tot = bpf_htons(40);
		if (bpf_skb_load_bytes(skb, 14 + 2, &old_tot, 2) ||
		    bpf_l3_csum_replace(skb, IPV4_CSUM_OFF, old_tot, new_tot, 2) ||
		    bpf_skb_store_bytes(skb, 14 + 2, &new_tot, 2, 0))
			return -DROP_INVALID_PACKET;
		__u16 old_ttl = bpf_htons((__u16)t->ttl << 8), new_ttl = bpf_htons(REJECT_TTL << 8);
		__u8 ttl = REJECT_TTL;
		if (bpf_l3_csum_replace(skb, IPV4_CSUM_OFF, old_ttl, new_ttl, 2) ||
		    bpf_skb_store_bytes(skb, IPV4_TTL_OFF, &ttl, 1, 0))
			return -DROP_INVALID_PACKET;
	} else {
		__u32 addrs[8] = { t->daddr[0], t->daddr[1], t->daddr[2], t->daddr[3],
				   t->saddr[0], t->saddr[1], t->saddr[2], t->saddr[3] };
		__u16 plen = bpf_htons(20);
		__u8 hop = REJECT_TTL;
		if (bpf_skb_store_bytes(skb, IPV6_SADDR_OFF, addrs, 32, 0) ||
		    bpf_skb_store_bytes(skb, 14 + 4, &plen, 2, 0) ||
		    bpf_skb_store_bytes(skb, IPV6_HOPLIMIT_OFF, &hop, 1, 0))
			return -DROP_INVALID_PACKET;
	}
	if (skb->len != l4 + 20 && bpf_skb_change_tail(skb, l4 + 20, 0))
		return -DROP_INVALID_PACKET;
	if (swap_macs(skb))
		return -DROP_INVALID_PACKET;
	return hypha_redirect(skb->ifindex, 0);
}

/* ICMP port unreachable for an IPv4 packet without options: 14 + 20 + 8 + (20 + 8) bytes. */
__always_inline_hypha int reject_icmp4(struct __sk_buff *skb, const struct hypha_tuple *t)
{
	__u8 quoted[28];
	if (bpf_skb_load_bytes(skb, 14, quoted, sizeof(quoted)))
		return -DROP_INVALID_PACKET;
	if ((quoted[0] & 0x0f) != 5)
		return -DROP_INVALID_PACKET; /* options: not answered */
	if (bpf_skb_change_tail(skb, 14 + 20 + 8 + 28, 0))
		return -DROP_INVALID_PACKET;
	struct {
		struct iphdr ip;
		__u8 icmp[8];
		__u8 quoted[28];
	} m = {};
	m.ip.version = 4;
	m.ip.ihl = 5;
	m.ip.tot_len = bpf_htons(20 + 8 + 28);
	m.ip.ttl = REJECT_TTL;
	m.ip.protocol = IPPROTO_ICMP;
	m.ip.saddr = t->daddr[0];
	m.ip.daddr = t->saddr[0];
	m.icmp[0] = ICMP_DEST_UNREACH;
	m.icmp[1] = ICMP_PORT_UNREACH;
	__builtin_memcpy(m.quoted, quoted, sizeof(quoted));
	__s64 ip_sum = bpf_csum_diff(NULL, 0, (__u32 *)&m.ip, 20, 0);
	__s64 icmp_sum = bpf_csum_diff(NULL, 0, (__u32 *)m.icmp, 36, 0);
	if (ip_sum < 0 || icmp_sum < 0)
		return -DROP_INVALID_PACKET;
	m.ip.check = csum_fold_hypha(ip_sum);
	__u16 ic = csum_fold_hypha(icmp_sum);
	__builtin_memcpy(m.icmp + 2, &ic, 2);
	if (bpf_skb_store_bytes(skb, 14, &m, sizeof(m), 0))
		return -DROP_INVALID_PACKET;
	if (swap_macs(skb))
		return -DROP_INVALID_PACKET;
	return hypha_redirect(skb->ifindex, 0);
}

/* ICMPv6 port unreachable: 14 + 40 + 8 + (40 + 8) bytes; the checksum covers the pseudo
 * header. */
__always_inline_hypha int reject_icmp6(struct __sk_buff *skb, const struct hypha_tuple *t)
{
	__u8 quoted[48];
	if (bpf_skb_load_bytes(skb, 14, quoted, sizeof(quoted)))
		return -DROP_INVALID_PACKET;
	if (bpf_skb_change_tail(skb, 14 + 40 + 8 + 48, 0))
		return -DROP_INVALID_PACKET;
	struct {
		struct ipv6hdr ip;
		__u8 icmp[8];
		__u8 quoted[48];
	} m = {};
	m.ip.version = 6;
	m.ip.payload_len = bpf_htons(8 + 48);
	m.ip.nexthdr = IPPROTO_ICMPV6;
	m.ip.hop_limit = REJECT_TTL;
	__builtin_memcpy(&m.ip.saddr, t->daddr, 16);
	__builtin_memcpy(&m.ip.daddr, t->saddr, 16);
	m.icmp[0] = ICMPV6_DEST_UNREACH;
	m.icmp[1] = ICMPV6_PORT_UNREACH;
	__builtin_memcpy(m.quoted, quoted, sizeof(quoted));
	struct {
		__u32 saddr[4];
		__u32 daddr[4];
		__u32 len;
		__u32 next; /* three zero bytes, then the next header */
	} pseudo = { .len = bpf_htonl(8 + 48), .next = bpf_htonl(IPPROTO_ICMPV6) };
	__builtin_memcpy(pseudo.saddr, t->daddr, 16);
	__builtin_memcpy(pseudo.daddr, t->saddr, 16);
	__s64 sum = bpf_csum_diff(NULL, 0, (__u32 *)&pseudo, sizeof(pseudo), 0);
	if (sum < 0)
		return -DROP_INVALID_PACKET;
	sum = bpf_csum_diff(NULL, 0, (__u32 *)m.icmp, 56, sum);
	if (sum < 0)
		return -DROP_INVALID_PACKET;
	__u16 ic = csum_fold_hypha(sum);
	__builtin_memcpy(m.icmp + 2, &ic, 2);
	if (bpf_skb_store_bytes(skb, 14, &m, sizeof(m), 0))
		return -DROP_INVALID_PACKET;
	if (swap_macs(skb))
		return -DROP_INVALID_PACKET;
	return hypha_redirect(skb->ifindex, 0);
}

__always_inline_hypha int reject_packet(struct __sk_buff *skb, const struct hypha_packet *pkt,
					const struct hypha_tuple *t)
{
	if (t->proto == IPPROTO_TCP)
		return reject_tcp(skb, pkt, t);
	if (t->family == 4)
		return reject_icmp4(skb, t);
	return reject_icmp6(skb, t);
}

#endif /* HYPHA_REJECT_H */
