/* Datapath unit tests for bpf_lb.c's XDP variant (its SETUPs are XDP programs, which
 * BPF_PROG_TEST_RUN runs as well): what XDP balances itself and what it leaves to the tc stage. */
#include "lib/lb_scene.h"

/* --- XDP, local backend: translated in XDP and passed on to the tc stage, which delivers it. */
PKTGEN(xdp_local_backend)
{
	return syn_to_nodeport(ctx, CLIENT);
}

SEC("xdp")
int setup__xdp_local_backend(struct xdp_md *ctx)
{
	nodeport(0, 0, IPPROTO_TCP, 0, 1, BE_LOCAL);
	return lb_xdp(ctx);
}

CHECK(xdp_local_backend)
{
	test_assert(verdict_of(ctx) == XDP_PASS);
	test_assert(pkt_u32(ctx, OFF_DADDR) == bpf_htonl(POD_IP));
	test_assert(pkt_u16(ctx, OFF_DPORT) == bpf_htons(POD_PORT));
	test_assert(pkt_u32(ctx, OFF_SADDR) == bpf_htonl(CLIENT));
	test_assert(pkt_u8(ctx, OFF_TTL) == 64); /* the tc stage routes it */
	test_assert(test_ipv4_csum_ok(ctx));
	test_assert(test_l4_csum_ok(ctx));
	struct lb_rev_entry *rev =
		rev_get(addr4(POD_IP), addr4(CLIENT), POD_PORT, CLIENT_PORT, IPPROTO_TCP, 4);
	test_assert(rev && rev->addr[0] == bpf_htonl(NODE_IP));
	struct lb_ct_entry *flow = flow_get4(CLIENT, NODE_IP, CLIENT_PORT, NODEPORT, IPPROTO_TCP);
	test_assert(flow && flow->backend == BE_LOCAL);
	return TEST_PASS;
}

/* --- XDP leaves a frontend without backends to the tc stage, which refuses. --- */
PKTGEN(xdp_empty_frontend_passes)
{
	return syn_to_nodeport(ctx, CLIENT);
}

SEC("xdp")
int setup__xdp_empty_frontend_passes(struct xdp_md *ctx)
{
	nodeport(0, 0, IPPROTO_TCP, 0, 0, 0);
	return lb_xdp(ctx);
}

CHECK(xdp_empty_frontend_passes)
{
	test_assert(verdict_of(ctx) == XDP_PASS);
	test_assert(pkt_u32(ctx, OFF_DADDR) == bpf_htonl(NODE_IP));
	test_assert(pkt_len(ctx) == 54);
	return TEST_PASS;
}

/* --- lb_xdp.h: a UDP datagram without checksum (0): the reverse entry is keyed by the
 * backend, as for any other datagram. --- */
PKTGEN(regression_xdp_udp_without_checksum)
{
	if (build_udp4(ctx, CLIENT, NODE_IP, 5353, NODEPORT))
		return -1;
	__u16 none = 0;
	return bpf_skb_store_bytes(ctx, 34 + 6, &none, 2, 0);
}

SEC("xdp")
int setup__regression_xdp_udp_without_checksum(struct xdp_md *ctx)
{
	nodeport(0, 0, IPPROTO_UDP, 0, 1, BE_LOCAL);
	return lb_xdp(ctx);
}

CHECK(regression_xdp_udp_without_checksum)
{
	test_assert(verdict_of(ctx) == XDP_PASS);
	test_assert(pkt_u32(ctx, OFF_DADDR) == bpf_htonl(POD_IP));
	test_assert(rev_get(addr4(POD_IP), addr4(CLIENT), POD_PORT, 5353, IPPROTO_UDP, 4) != 0);
	return TEST_PASS;
}

/* --- lb_xdp.h: XDP leaves a remote backend in tunnel mode to the tc stage: it cannot set a
 * tunnel key, and a packet it SNATed and passed on reaches the stack's input path with this
 * node's address as its source, a martian the stack drops (the tc stage's lb_redirect() exists
 * for exactly that). --- */
PKTGEN(regression_xdp_remote_tunnel_left_to_tc)
{
	return syn_to_nodeport(ctx, CLIENT);
}

SEC("xdp")
int setup__regression_xdp_remote_tunnel_left_to_tc(struct xdp_md *ctx)
{
	nodeport(CONFIG_F_TUNNEL, 0, IPPROTO_TCP, 0, 1, BE_REMOTE);
	return lb_xdp(ctx);
}

CHECK(regression_xdp_remote_tunnel_left_to_tc)
{
	test_assert(verdict_of(ctx) == XDP_PASS);
	test_assert(pkt_u32(ctx, OFF_SADDR) == bpf_htonl(CLIENT));
	test_assert(!snat_get(addr4(CLIENT), addr4(REMOTE_POD), CLIENT_PORT, POD_PORT, IPPROTO_TCP,
			      4, CT_EGRESS));
	return TEST_PASS;
}

/* --- nat.h: a frontend on a NAT port (a HostPort in the range): XDP leaves the reply of the
 * translation that has the port to the tc stage, untouched, rather than balance it. --- */
#define FE_ON_NAT_PORT 13

PKTGEN(xdp_reply_on_frontend_port_left_to_tc)
{
	return build_tcp4(ctx, REMOTE_POD, NODE_IP, POD_PORT, NAT_PORT, TCP_F_SYN | TCP_F_ACK);
}

SEC("xdp")
int setup__xdp_reply_on_frontend_port_left_to_tc(struct xdp_md *ctx)
{
	nodeport(0, 0, IPPROTO_TCP, 0, 1, BE_REMOTE);
	lb_frontend_add(addr4(NODE_IP), 4, NAT_PORT, IPPROTO_TCP, FE_ON_NAT_PORT, 1,
			LB_FE_EXTERNAL);
	lb_slot_add(FE_ON_NAT_PORT, 1, BE_LOCAL);
	remote_flow_state();
	return lb_xdp(ctx);
}

CHECK(xdp_reply_on_frontend_port_left_to_tc)
{
	test_assert(verdict_of(ctx) == XDP_PASS);
	test_assert(pkt_u32(ctx, OFF_DADDR) == bpf_htonl(NODE_IP));
	test_assert(pkt_u16(ctx, OFF_DPORT) == bpf_htons(NAT_PORT));
	test_assert(!flow_get4(REMOTE_POD, NODE_IP, POD_PORT, NAT_PORT, IPPROTO_TCP));
	return TEST_PASS;
}
