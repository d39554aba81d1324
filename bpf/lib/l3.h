/* l3.h — rewriting packets in place: MAC addresses, TTL, IPv4 addresses and L4 ports, with
 * their checksums kept valid.
 *
 * Contract: offsets are from the Ethernet header; addresses and ports are passed in network
 * order. Every helper returns 0 or a negative DROP_* reason. Packet pointers the caller holds
 * are invalid afterwards (the helpers may move the data).
 */
#ifndef HYPHA_L3_H
#define HYPHA_L3_H

#include "common.h"
#include "drop.h"

#ifndef offsetof
#define offsetof(type, member) __builtin_offsetof(type, member)
#endif

#define ETH_HLEN_HYPHA 14
#define IPV4_CSUM_OFF (ETH_HLEN_HYPHA + offsetof(struct iphdr, check))
#define IPV4_TTL_OFF (ETH_HLEN_HYPHA + offsetof(struct iphdr, ttl))
#define IPV4_SADDR_OFF (ETH_HLEN_HYPHA + offsetof(struct iphdr, saddr))
#define IPV4_DADDR_OFF (ETH_HLEN_HYPHA + offsetof(struct iphdr, daddr))
#define IPV6_HOPLIMIT_OFF (ETH_HLEN_HYPHA + offsetof(struct ipv6hdr, hop_limit))
#define IPV6_SADDR_OFF (ETH_HLEN_HYPHA + offsetof(struct ipv6hdr, saddr))
#define IPV6_DADDR_OFF (ETH_HLEN_HYPHA + offsetof(struct ipv6hdr, daddr))

__always_inline_hypha int rewrite_macs(struct __sk_buff *skb, const __u8 *dst, const __u8 *src)
{
	if (bpf_skb_store_bytes(skb, 0, dst, 6, 0) || bpf_skb_store_bytes(skb, 6, src, 6, 0))
		return -DROP_INVALID_PACKET;
	return 0;
}

/* Decrements the TTL (hop limit) of a routed packet; a packet that reached 1 is dropped. */
__always_inline_hypha int dec_ttl(struct __sk_buff *skb, __u8 family, __u8 ttl)
{
	if (ttl <= 1)
		return -DROP_TTL_EXCEEDED;
	__u8 next = ttl - 1;
	if (family == 4) {
		/* The checksum covers TTL as the high byte of a 16-bit word (TTL, protocol). */
		__u16 old = bpf_htons((__u16)ttl << 8), new = bpf_htons((__u16)next << 8);
		if (bpf_l3_csum_replace(skb, IPV4_CSUM_OFF, old, new, 2))
			return -DROP_INVALID_PACKET;
		if (bpf_skb_store_bytes(skb, IPV4_TTL_OFF, &next, 1, 0))
			return -DROP_INVALID_PACKET;
		return 0;
	}
	if (bpf_skb_store_bytes(skb, IPV6_HOPLIMIT_OFF, &next, 1, 0))
		return -DROP_INVALID_PACKET;
	return 0;
}

/* Offset of the L4 checksum, or 0 for protocols without one hypha updates. */
__always_inline_hypha __u32 l4_csum_off(__u8 proto, __u32 l4_off)
{
	switch (proto) {
	case IPPROTO_TCP:
		return l4_off + 16;
	case IPPROTO_UDP:
		return l4_off + 6;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return l4_off + 2;
	}
	return 0;
}

/* Replaces the IPv4 address at `addr_off` (source or destination), fixing the IP checksum and
 * the L4 pseudo-header checksum (TCP/UDP; ICMP has none). */
__always_inline_hypha int rewrite_ipv4_addr(struct __sk_buff *skb, __u32 addr_off, __u8 proto,
					    __u32 l4_off, __u32 old, __u32 new)
{
	__u32 csum_off = l4_csum_off(proto, l4_off);
	if (csum_off && proto != IPPROTO_ICMP) {
		__u64 flags = BPF_F_PSEUDO_HDR | sizeof(new);
		if (proto == IPPROTO_UDP)
			flags |= BPF_F_MARK_MANGLED_0; /* a zero UDP checksum means "none" */
		if (bpf_l4_csum_replace(skb, csum_off, old, new, flags))
			return -DROP_INVALID_PACKET;
	}
	if (bpf_l3_csum_replace(skb, IPV4_CSUM_OFF, old, new, sizeof(new)))
		return -DROP_INVALID_PACKET;
	if (bpf_skb_store_bytes(skb, addr_off, &new, sizeof(new), 0))
		return -DROP_INVALID_PACKET;
	return 0;
}

/* Replaces the IPv6 address at `addr_off` (source or destination), fixing the L4 checksum,
 * whose pseudo-header covers it (TCP, UDP and ICMPv6). IPv6 has no header checksum. */
__always_inline_hypha int rewrite_ipv6_addr(struct __sk_buff *skb, __u32 addr_off, __u8 proto,
					    __u32 l4_off, const __u32 old[4], const __u32 new[4])
{
	__u32 csum_off = l4_csum_off(proto, l4_off);
	if (csum_off) {
		__u32 from[4] = { old[0], old[1], old[2], old[3] };
		__u32 to[4] = { new[0], new[1], new[2], new[3] };
		__s64 diff = bpf_csum_diff(from, 16, to, 16, 0);
		__u64 flags = BPF_F_PSEUDO_HDR;
		if (proto == IPPROTO_UDP)
			flags |= BPF_F_MARK_MANGLED_0;
		if (diff < 0 || bpf_l4_csum_replace(skb, csum_off, 0, diff, flags))
			return -DROP_INVALID_PACKET;
	}
	__u32 value[4] = { new[0], new[1], new[2], new[3] };
	if (bpf_skb_store_bytes(skb, addr_off, value, 16, 0))
		return -DROP_INVALID_PACKET;
	return 0;
}

/* Replaces the source (`dest` 0) or destination address of an IPv4 or IPv6 packet. */
__always_inline_hypha int rewrite_addr(struct __sk_buff *skb, __u8 family, int dest, __u8 proto,
				       __u32 l4_off, const __u32 old[4], const __u32 new[4])
{
	if (family == 4)
		return rewrite_ipv4_addr(skb, dest ? IPV4_DADDR_OFF : IPV4_SADDR_OFF, proto, l4_off,
					 old[0], new[0]);
	return rewrite_ipv6_addr(skb, dest ? IPV6_DADDR_OFF : IPV6_SADDR_OFF, proto, l4_off, old,
				 new);
}

/* Replaces a 16-bit L4 field at `off` (a TCP/UDP port, or the ICMP echo id), fixing the L4
 * checksum. */
__always_inline_hypha int rewrite_l4_port(struct __sk_buff *skb, __u32 off, __u8 proto,
					  __u32 l4_off, __u16 old, __u16 new)
{
	__u32 csum_off = l4_csum_off(proto, l4_off);
	if (csum_off) {
		__u64 flags = sizeof(new);
		if (proto == IPPROTO_UDP)
			flags |= BPF_F_MARK_MANGLED_0;
		if (bpf_l4_csum_replace(skb, csum_off, old, new, flags))
			return -DROP_INVALID_PACKET;
	}
	if (bpf_skb_store_bytes(skb, off, &new, sizeof(new), 0))
		return -DROP_INVALID_PACKET;
	return 0;
}

#endif /* HYPHA_L3_H */
