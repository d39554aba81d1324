/* Datapath unit tests for bpf_host.c: per-device counters and drop reasons. */
#include "../bpf_host.c"
#include "lib/test.h"
#include "lib/pktgen.h"

TEST_ENTRIES([0] = (void *)&hypha_host_ingress, [1] = (void *)&hypha_host_egress);

/* BPF_PROG_TEST_RUN hands the program an skb on the test namespace's loopback (ifindex 1). */
#define TEST_IFINDEX 1

static __always_inline void register_device(__u32 ifindex, __u32 flags)
{
	struct device_info dev = { .flags = flags, .mtu = 1500 };
	bpf_map_update_elem(&hypha_devices, &ifindex, &dev, BPF_ANY);
}

static __always_inline __u64 counter(__u8 direction, __u32 field_off)
{
	struct ifcounter_key key = { .ifindex = TEST_IFINDEX, .direction = direction };
	return test_percpu_sum(&hypha_ifcounters, &key, field_off);
}

static __always_inline __u64 drops_for(__u8 direction, __u16 reason)
{
	struct ifdrop_key key = { .ifindex = TEST_IFINDEX, .direction = direction, .reason = reason };
	return test_percpu_sum(&hypha_ifdrops, &key, 0);
}

/* A minimal IPv4/UDP packet for checks that only care whether it is counted. */
static __always_inline int build_small_udp(struct __sk_buff *ctx)
{
	struct pktgen p;
	pktgen_init(&p);
	pktgen_ipv4(&p, 0x0a000001, 0x0a000002, IPPROTO_UDP);
	pktgen_udp(&p, 1, 2);
	return pktgen_finish(ctx, &p);
}

#define PACKETS 0
#define BYTES 8
#define DROPS 16

/* --- IPv4 TCP SYN on ingress is counted with its exact length and passed. --- */
PKTGEN(ipv4_tcp_ingress)
{
	struct pktgen p;
	pktgen_init(&p);
	pktgen_ipv4(&p, 0x0a000001, 0x0a000002, IPPROTO_TCP);
	pktgen_tcp(&p, 40000, 80, 0x02);
	pktgen_payload(&p, 10);
	return pktgen_finish(ctx, &p);
}

SETUP(ipv4_tcp_ingress)
{
	register_device(TEST_IFINDEX, DEVICE_F_COUNT);
	return test_tail_call(ctx, 0);
}

CHECK(ipv4_tcp_ingress)
{
	__u32 verdict = 0;
	test_assert(test_verdict(ctx, &verdict) == 0);
	test_assert(verdict == TC_ACT_OK);
	test_assert(counter(HYPHA_DIR_INGRESS, PACKETS) == 1);
	test_assert(counter(HYPHA_DIR_INGRESS, BYTES) == 14 + 20 + 20 + 10);
	test_assert(counter(HYPHA_DIR_INGRESS, DROPS) == 0);
	test_assert(counter(HYPHA_DIR_EGRESS, PACKETS) == 0);
	return TEST_PASS;
}

/* --- IPv6 UDP on egress lands in the egress counter only. --- */
PKTGEN(ipv6_udp_egress)
{
	const __u32 src[4] = { 0xfd000000, 0, 0, 1 };
	const __u32 dst[4] = { 0xfd000000, 0, 0, 2 };
	struct pktgen p;
	pktgen_init(&p);
	pktgen_ipv6(&p, src, dst, IPPROTO_UDP);
	pktgen_udp(&p, 5353, 53);
	pktgen_payload(&p, 32);
	return pktgen_finish(ctx, &p);
}

SETUP(ipv6_udp_egress)
{
	register_device(TEST_IFINDEX, DEVICE_F_COUNT);
	return test_tail_call(ctx, 1);
}

CHECK(ipv6_udp_egress)
{
	__u32 verdict = 0;
	test_assert(test_verdict(ctx, &verdict) == 0);
	test_assert(verdict == TC_ACT_OK);
	test_assert(counter(HYPHA_DIR_EGRESS, PACKETS) == 1);
	test_assert(counter(HYPHA_DIR_EGRESS, BYTES) == 14 + 40 + 8 + 32);
	test_assert(counter(HYPHA_DIR_INGRESS, PACKETS) == 0);
	return TEST_PASS;
}

/* --- ICMP echo is counted like any IPv4 packet. --- */
PKTGEN(icmp_echo_counted)
{
	struct pktgen p;
	pktgen_init(&p);
	pktgen_ipv4(&p, 0x0a000001, 0x0a000002, IPPROTO_ICMP);
	pktgen_icmp_echo(&p, 7, 1);
	pktgen_payload(&p, 56);
	return pktgen_finish(ctx, &p);
}

SETUP(icmp_echo_counted)
{
	register_device(TEST_IFINDEX, DEVICE_F_COUNT);
	return test_tail_call(ctx, 0);
}

CHECK(icmp_echo_counted)
{
	__u32 verdict = 0;
	test_assert(test_verdict(ctx, &verdict) == 0);
	test_assert(verdict == TC_ACT_OK);
	test_assert(counter(HYPHA_DIR_INGRESS, PACKETS) == 1);
	test_assert(counter(HYPHA_DIR_INGRESS, BYTES) == 14 + 20 + 8 + 56);
	/* the packet leaves unchanged: ICMP type 8 right after the IP header */
	__u8 type = 0;
	test_assert(bpf_skb_load_bytes(ctx, TEST_PKT_OFF + 34, &type, 1) == 0);
	test_assert(type == 8);
	return TEST_PASS;
}

/* --- A TCP packet cut inside its TCP header is a drop (invalid packet), yet passed on. --- */
PKTGEN(truncated_tcp_is_counted_drop)
{
	struct pktgen p;
	pktgen_init(&p);
	pktgen_ipv4(&p, 0x0a000001, 0x0a000002, IPPROTO_TCP);
	pktgen_tcp(&p, 40000, 80, 0x10);
	p.len = 14 + 20 + 8; /* only 8 of the 20 TCP header bytes */
	return pktgen_finish(ctx, &p);
}

SETUP(truncated_tcp_is_counted_drop)
{
	register_device(TEST_IFINDEX, DEVICE_F_COUNT);
	return test_tail_call(ctx, 0);
}

CHECK(truncated_tcp_is_counted_drop)
{
	__u32 verdict = 0;
	test_assert(test_verdict(ctx, &verdict) == 0);
	test_assert(verdict == TC_ACT_OK);
	test_assert(counter(HYPHA_DIR_INGRESS, PACKETS) == 1);
	test_assert(counter(HYPHA_DIR_INGRESS, DROPS) == 1);
	test_assert(drops_for(HYPHA_DIR_INGRESS, DROP_INVALID_PACKET) == 1);
	test_assert(drops_for(HYPHA_DIR_INGRESS, DROP_UNKNOWN) == 0);
	return TEST_PASS;
}

/* --- An IPv4 header with IHL < 5 is invalid. --- */
PKTGEN(bad_ihl_is_invalid)
{
	struct pktgen p;
	pktgen_init(&p);
	pktgen_ipv4(&p, 0x0a000001, 0x0a000002, IPPROTO_UDP);
	pktgen_udp(&p, 1, 2);
	struct iphdr *ip = (void *)(p.buf + sizeof(struct ethhdr));
	ip->ihl = 3;
	return pktgen_finish(ctx, &p);
}

SETUP(bad_ihl_is_invalid)
{
	register_device(TEST_IFINDEX, DEVICE_F_COUNT);
	return test_tail_call(ctx, 1);
}

CHECK(bad_ihl_is_invalid)
{
	test_assert(drops_for(HYPHA_DIR_EGRESS, DROP_INVALID_PACKET) == 1);
	test_assert(counter(HYPHA_DIR_EGRESS, PACKETS) == 1);
	return TEST_PASS;
}

/* --- Devices the agent did not register are not counted. --- */
PKTGEN(unregistered_device_not_counted)
{
	return build_small_udp(ctx);
}

SETUP(unregistered_device_not_counted)
{
	register_device(TEST_IFINDEX + 1000, DEVICE_F_COUNT);
	return test_tail_call(ctx, 0);
}

CHECK(unregistered_device_not_counted)
{
	__u32 verdict = 0;
	test_assert(test_verdict(ctx, &verdict) == 0);
	test_assert(verdict == TC_ACT_OK);
	test_assert(counter(HYPHA_DIR_INGRESS, PACKETS) == 0);
	return TEST_PASS;
}

/* --- A registered device with counting switched off is not counted. --- */
PKTGEN(counting_disabled)
{
	return build_small_udp(ctx);
}

SETUP(counting_disabled)
{
	register_device(TEST_IFINDEX, 0);
	return test_tail_call(ctx, 0);
}

CHECK(counting_disabled)
{
	test_assert(counter(HYPHA_DIR_INGRESS, PACKETS) == 0);
	return TEST_PASS;
}

/* --- ARP is neither IP nor dropped. --- */
PKTGEN(arp_passes_uncounted_as_drop)
{
	struct pktgen p;
	pktgen_init(&p);
	pktgen_eth(&p, ETH_P_ARP);
	pktgen_payload(&p, 28);
	return pktgen_finish(ctx, &p);
}

SETUP(arp_passes_uncounted_as_drop)
{
	register_device(TEST_IFINDEX, DEVICE_F_COUNT);
	return test_tail_call(ctx, 0);
}

CHECK(arp_passes_uncounted_as_drop)
{
	test_assert(counter(HYPHA_DIR_INGRESS, PACKETS) == 1);
	test_assert(counter(HYPHA_DIR_INGRESS, DROPS) == 0);
	return TEST_PASS;
}
