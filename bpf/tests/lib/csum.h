/* csum.h — checksum verification for CHECK programs: a translated packet must still carry
 * valid IPv4 (with or without options) and L4 checksums, IPv6 L4 checksums included.
 *
 * Contract: offsets are within the CHECK input (after the 4-byte verdict, see test.h); packets
 * are at most PKTGEN_MAX bytes. Return 1 when the checksum verifies.
 */
#ifndef HYPHA_CSUM_H
#define HYPHA_CSUM_H

#include "common.h"
#include "pktgen.h"
#include "test.h"

#define CSUM_BUF 256 /* >= PKTGEN_MAX, a power of two so indexes can be masked */

/* Adds bytes [start, start + n) of a CSUM_BUF-byte buffer as big-endian 16-bit words. */
static __always_inline __u32 csum_add_range(const __u8 *b, __u32 start, __u32 n, __u32 sum)
{
	for (__u32 i = 0; i < CSUM_BUF; i += 2) {
		if (i >= n)
			break;
		__u32 hi = b[(start + i) & (CSUM_BUF - 1)];
		__u32 lo = i + 1 < n ? b[(start + i + 1) & (CSUM_BUF - 1)] : 0;
		sum += (hi << 8) | lo;
	}
	return sum;
}

static __always_inline __u16 csum_fold16(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* The IPv4 header of the checked packet sums to 0xffff. */
static __always_inline int test_ipv4_csum_ok(struct __sk_buff *ctx)
{
	__u8 hdr[CSUM_BUF] = {};
	if (bpf_skb_load_bytes(ctx, TEST_PKT_OFF + 14, hdr, 20))
		return 0;
	return csum_fold16(csum_add_range(hdr, 0, 20, 0)) == 0xffff;
}

/* TCP, UDP or ICMP checksum of an IPv4 packet (UDP 0 = none counts as valid). */
static __always_inline int test_l4_csum_ok(struct __sk_buff *ctx)
{
	__u8 buf[CSUM_BUF] = {};
	__u32 len = ctx->len - TEST_PKT_OFF;
	if (len > PKTGEN_MAX || len < 34)
		return 0;
	if (bpf_skb_load_bytes(ctx, TEST_PKT_OFF, buf, 34))
		return 0;
	for (__u32 off = 34; off < PKTGEN_MAX; off++) {
		if (off >= len)
			break;
		if (bpf_skb_load_bytes(ctx, TEST_PKT_OFF + off, buf + (off & (CSUM_BUF - 1)), 1))
			return 0;
	}
	__u8 proto = buf[23];
	__u32 l4_len = len - 34;
	__u32 sum = 0;
	if (proto == IPPROTO_UDP && buf[34 + 6] == 0 && buf[34 + 7] == 0)
		return 1;
	if (proto != IPPROTO_ICMP) {
		sum = csum_add_range(buf, 26, 8, 0); /* source and destination address */
		sum += proto + l4_len;
	}
	sum = csum_add_range(buf, 34, l4_len, sum);
	return csum_fold16(sum) == 0xffff;
}

/* Loads the checked packet into a CSUM_BUF buffer; returns its length, or 0 when it is longer
 * than PKTGEN_MAX or cannot be read. */
static __always_inline __u32 csum_load_packet(struct __sk_buff *ctx, __u8 *buf)
{
	__u32 len = ctx->len - TEST_PKT_OFF;
	if (len > PKTGEN_MAX)
		return 0;
	for (__u32 off = 0; off < PKTGEN_MAX; off++) {
		if (off >= len)
			break;
		if (bpf_skb_load_bytes(ctx, TEST_PKT_OFF + off, buf + (off & (CSUM_BUF - 1)), 1))
			return 0;
	}
	return len;
}

/* Bytes [off, off + n) of the checked packet (n <= 60) sum to 0xffff: an IPv4 header with its
 * options (n = ihl * 4), or the IPv4 header an ICMP error quotes. */
static __always_inline int test_csum_range_ok(struct __sk_buff *ctx, __u32 off, __u32 n)
{
	__u8 buf[CSUM_BUF] = {};
	__u32 len = csum_load_packet(ctx, buf);
	if (n > 60 || off + n > len)
		return 0;
	return csum_fold16(csum_add_range(buf, off, n, 0)) == 0xffff;
}

/* TCP, UDP or ICMP checksum of an IPv4 packet whose header may carry options (its length taken
 * from ihl); UDP 0 = none counts as valid. */
static __always_inline int test_l4_csum_ok_ihl(struct __sk_buff *ctx)
{
	__u8 buf[CSUM_BUF] = {};
	__u32 len = csum_load_packet(ctx, buf);
	__u32 l4 = 14 + (buf[14] & 0x0f) * 4;
	if (l4 < 34 || len < l4 + 4)
		return 0;
	__u8 proto = buf[23];
	__u32 l4_len = len - l4, sum = 0;
	if (proto == IPPROTO_UDP && buf[(l4 + 6) & (CSUM_BUF - 1)] == 0 &&
	    buf[(l4 + 7) & (CSUM_BUF - 1)] == 0)
		return 1;
	if (proto != IPPROTO_ICMP) {
		sum = csum_add_range(buf, 26, 8, 0); /* source and destination address */
		sum += proto + l4_len;
	}
	sum = csum_add_range(buf, l4, l4_len, sum);
	return csum_fold16(sum) == 0xffff;
}

/* TCP, UDP or ICMPv6 checksum of an IPv6 packet without extension headers, over the pseudo
 * header of RFC 8200 8.1 (addresses, L4 length, next header). */
static __always_inline int test_l4_csum6_ok(struct __sk_buff *ctx)
{
	__u8 buf[CSUM_BUF] = {};
	__u32 len = csum_load_packet(ctx, buf);
	if (len < 54 + 4)
		return 0;
	__u8 proto = buf[20];
	__u32 l4_len = len - 54;
	__u32 sum = csum_add_range(buf, 22, 32, 0) + proto + l4_len;
	sum = csum_add_range(buf, 54, l4_len, sum);
	return csum_fold16(sum) == 0xffff;
}

#endif /* HYPHA_CSUM_H */
