/* Datapath unit tests for bpf_lb.c: a frontend without backends refuses (TCP RST, ICMP and
 * ICMPv6 port unreachable) or, with backends elsewhere, drops quietly. */
#include "lib/lb_scene.h"

/* --- No backend, a TCP SYN with options (TTL 57): answered with RST|ACK from the frontend,
 * options cut, out of the device it came in on. --- */
PKTGEN(empty_frontend_rst)
{
	struct pktgen p;
	pktgen_init(&p);
	pktgen_ipv4(&p, CLIENT, NODE_IP, IPPROTO_TCP);
	p.buf[OFF_TTL] = 57;
	pktgen_tcp(&p, CLIENT_PORT, NODEPORT, TCP_F_SYN);
	struct tcphdr *tcp = (void *)(p.buf + 34);
	tcp->seq = bpf_htonl(TCP_SEQ);
	tcp->doff = 7;
	const __u8 opts[8] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7 }; /* MSS 1460, NOP, window scale 7 */
	__builtin_memcpy(p.buf + 54, opts, 8);
	p.len = 62;
	return pktgen_finish(ctx, &p);
}

SETUP(empty_frontend_rst)
{
	nodeport(0, 0, IPPROTO_TCP, 0, 0, 0);
	return test_tail_call(ctx, HOST_INGRESS);
}

/* A RST|ACK from the NodePort to CLIENT answering a SYN with sequence number TCP_SEQ. */
static __always_inline int rst_ok(struct __sk_buff *ctx)
{
	return pkt_len(ctx) == 54 && pkt_u8(ctx, OFF_DMAC + 5) == 0x01 &&
	       pkt_u8(ctx, OFF_SMAC + 5) == 0x02 && pkt_u8(ctx, 14) == 0x45 &&
	       pkt_u16(ctx, 16) == bpf_htons(40) && pkt_u8(ctx, OFF_TTL) == 64 &&
	       pkt_u32(ctx, OFF_SADDR) == bpf_htonl(NODE_IP) &&
	       pkt_u32(ctx, OFF_DADDR) == bpf_htonl(CLIENT) &&
	       pkt_u16(ctx, OFF_SPORT) == bpf_htons(NODEPORT) &&
	       pkt_u16(ctx, OFF_DPORT) == bpf_htons(CLIENT_PORT) && pkt_u32(ctx, 38) == 0 &&
	       pkt_u32(ctx, 42) == bpf_htonl(TCP_SEQ + 1) && pkt_u8(ctx, 46) == 0x50 &&
	       pkt_u8(ctx, 47) == (TCP_F_RST | TCP_F_ACK) && pkt_u16(ctx, 48) == 0 &&
	       pkt_u16(ctx, 52) == 0 && test_ipv4_csum_ok(ctx) && test_l4_csum_ok(ctx);
}

CHECK(empty_frontend_rst)
{
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_kind == MOCK_REDIRECT);
	test_assert(mock()->redirect_ifindex == TEST_IFINDEX);
	test_assert(rst_ok(ctx));
	test_assert(drops(DROP_LB_REJECTED) == 1);
	test_assert(!flow_get4(CLIENT, NODE_IP, CLIENT_PORT, NODEPORT, IPPROTO_TCP));
	return TEST_PASS;
}

/* --- A minimum-size frame: the SYN is padded to 60 bytes; the IP length, not the frame's,
 * decides, and the RST leaves without the padding. --- */
PKTGEN(empty_frontend_rst_padded_syn)
{
	if (syn_to_nodeport(ctx, CLIENT))
		return -1;
	return bpf_skb_change_tail(ctx, 60, 0);
}

SETUP(empty_frontend_rst_padded_syn)
{
	nodeport(0, 0, IPPROTO_TCP, 0, 0, 0);
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(empty_frontend_rst_padded_syn)
{
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	test_assert(rst_ok(ctx));
	return TEST_PASS;
}

/* --- The same for IPv6: the RST's checksum covers the IPv6 pseudo header. --- */
PKTGEN(empty_frontend_rst_ipv6)
{
	return build_l4_6(ctx, CLIENT6, NODE6, IPPROTO_TCP, CLIENT_PORT, NODEPORT);
}

SETUP(empty_frontend_rst_ipv6)
{
	nodeport6(0, POD6, 0);
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(empty_frontend_rst_ipv6)
{
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_ifindex == TEST_IFINDEX);
	test_assert(pkt_len(ctx) == 14 + 40 + 20 && pkt_u16(ctx, 18) == bpf_htons(20));
	test_assert(pkt_u8(ctx, 21) == 64);
	test_assert(pkt_addr6_is(ctx, 22, addr6(NODE6)));
	test_assert(pkt_addr6_is(ctx, 38, addr6(CLIENT6)));
	test_assert(pkt_u16(ctx, 54) == bpf_htons(NODEPORT));
	test_assert(pkt_u16(ctx, 56) == bpf_htons(CLIENT_PORT));
	test_assert(pkt_u32(ctx, 58) == 0 && pkt_u32(ctx, 62) == bpf_htonl(1));
	test_assert(pkt_u8(ctx, 66) == 0x50 && pkt_u8(ctx, 67) == (TCP_F_RST | TCP_F_ACK));
	test_assert(test_l4_csum6_ok(ctx));
	return TEST_PASS;
}

/* --- No backend, UDP: ICMP port unreachable from the frontend, quoting the datagram's IP
 * header and 8 bytes. --- */
PKTGEN(empty_frontend_icmp_unreachable)
{
	return build_udp4(ctx, CLIENT, NODE_IP, 5353, NODEPORT);
}

SETUP(empty_frontend_icmp_unreachable)
{
	nodeport(0, 0, IPPROTO_UDP, 0, 0, 0);
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(empty_frontend_icmp_unreachable)
{
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_kind == MOCK_REDIRECT);
	test_assert(mock()->redirect_ifindex == TEST_IFINDEX);
	test_assert(pkt_len(ctx) == 14 + 20 + 8 + 28);
	test_assert(pkt_u8(ctx, OFF_DMAC + 5) == 0x01 && pkt_u8(ctx, OFF_SMAC + 5) == 0x02);
	test_assert(pkt_u8(ctx, 14) == 0x45 && pkt_u16(ctx, 16) == bpf_htons(20 + 8 + 28));
	test_assert(pkt_u8(ctx, OFF_TTL) == 64 && pkt_u8(ctx, 23) == IPPROTO_ICMP);
	test_assert(pkt_u32(ctx, OFF_SADDR) == bpf_htonl(NODE_IP));
	test_assert(pkt_u32(ctx, OFF_DADDR) == bpf_htonl(CLIENT));
	test_assert(pkt_u8(ctx, 34) == 3 && pkt_u8(ctx, 35) == 3 && pkt_u32(ctx, 38) == 0);
	/* the quoted datagram: its header as sent (checksum intact), its ports */
	test_assert(pkt_u8(ctx, 42) == 0x45 && pkt_u16(ctx, 44) == bpf_htons(20 + 8 + 32));
	test_assert(pkt_u32(ctx, 42 + 12) == bpf_htonl(CLIENT));
	test_assert(pkt_u32(ctx, 42 + 16) == bpf_htonl(NODE_IP));
	test_assert(pkt_u16(ctx, 62) == bpf_htons(5353) && pkt_u16(ctx, 64) == bpf_htons(NODEPORT));
	test_assert(test_csum_range_ok(ctx, 42, 20));
	test_assert(test_ipv4_csum_ok(ctx));
	test_assert(test_l4_csum_ok(ctx));
	test_assert(drops(DROP_LB_REJECTED) == 1);
	return TEST_PASS;
}

/* --- The same for IPv6: ICMPv6 port unreachable, checksummed over its pseudo header. --- */
PKTGEN(empty_frontend_icmp6_unreachable)
{
	return build_l4_6(ctx, CLIENT6, NODE6, IPPROTO_UDP, 5353, NODEPORT);
}

SETUP(empty_frontend_icmp6_unreachable)
{
	set_config(0);
	lb_enable(0, 0, 0);
	lb_frontend_add(addr6(NODE6), 6, NODEPORT, IPPROTO_UDP, FE_V6, 0, LB_FE_EXTERNAL);
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(empty_frontend_icmp6_unreachable)
{
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_ifindex == TEST_IFINDEX);
	test_assert(pkt_len(ctx) == 14 + 40 + 8 + 48);
	test_assert(pkt_u16(ctx, 18) == bpf_htons(8 + 48));
	test_assert(pkt_u8(ctx, 20) == IPPROTO_ICMPV6 && pkt_u8(ctx, 21) == 64);
	test_assert(pkt_addr6_is(ctx, 22, addr6(NODE6)));
	test_assert(pkt_addr6_is(ctx, 38, addr6(CLIENT6)));
	test_assert(pkt_u8(ctx, 54) == 1 && pkt_u8(ctx, 55) == 4);
	test_assert(pkt_addr6_is(ctx, 62 + 8, addr6(CLIENT6))); /* the quoted header */
	test_assert(test_l4_csum6_ok(ctx));
	return TEST_PASS;
}

/* --- No backend here but elsewhere (LB_FE_DROP_EMPTY): dropped quietly and counted. --- */
PKTGEN(empty_frontend_drops)
{
	return syn_to_nodeport(ctx, CLIENT);
}

SETUP(empty_frontend_drops)
{
	nodeport(0, 0, IPPROTO_TCP, LB_FE_DROP_EMPTY, 0, 0);
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(empty_frontend_drops)
{
	test_assert(verdict_of(ctx) == TC_ACT_SHOT);
	test_assert(drops(DROP_NO_BACKEND) == 1);
	test_assert(drops(DROP_LB_REJECTED) == 0);
	test_assert(mock()->redirect_kind == 0);
	return TEST_PASS;
}

/* --- Traffic policy Local with only a remote backend: dropped, never sent off the node. --- */
PKTGEN(local_policy_remote_backend_drops)
{
	return syn_to_nodeport(ctx, CLIENT);
}

SETUP(local_policy_remote_backend_drops)
{
	nodeport(0, 0, IPPROTO_TCP, LB_FE_LOCAL, 1, BE_REMOTE);
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(local_policy_remote_backend_drops)
{
	test_assert(verdict_of(ctx) == TC_ACT_SHOT);
	test_assert(drops(DROP_NO_BACKEND) == 1);
	test_assert(mock()->redirect_kind == 0);
	return TEST_PASS;
}

/* --- reject.h: a SYN with a non-zero urgent pointer gets a RST with a valid checksum. --- */
PKTGEN(regression_rst_urgent_pointer)
{
	struct pktgen p;
	pktgen_init(&p);
	pktgen_ipv4(&p, CLIENT, NODE_IP, IPPROTO_TCP);
	pktgen_tcp(&p, CLIENT_PORT, NODEPORT, TCP_F_SYN);
	struct tcphdr *tcp = (void *)(p.buf + 34);
	tcp->seq = bpf_htonl(TCP_SEQ);
	tcp->urg_ptr = bpf_htons(0x1234);
	return pktgen_finish(ctx, &p);
}

SETUP(regression_rst_urgent_pointer)
{
	nodeport(0, 0, IPPROTO_TCP, 0, 0, 0);
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(regression_rst_urgent_pointer)
{
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	test_assert(rst_ok(ctx));
	return TEST_PASS;
}

/* --- lb_stage.h: a refusal reject_packet() cannot answer is counted once, not twice. --- */
PKTGEN(regression_unanswered_refusal_counted_once)
{
	return build_tcp4(ctx, CLIENT, NODE_IP, CLIENT_PORT, NODEPORT, TCP_F_ACK);
}

SETUP(regression_unanswered_refusal_counted_once)
{
	nodeport(0, 0, IPPROTO_TCP, 0, 0, 0);
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(regression_unanswered_refusal_counted_once)
{
	test_assert(verdict_of(ctx) == TC_ACT_SHOT);
	test_assert(drops(DROP_LB_REJECTED) == 1);
	return TEST_PASS;
}
