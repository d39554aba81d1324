/* Datapath unit tests for bpf_lb.c: replies get their service address back (from a remote
 * backend through the uplink or the tunnel, from a local backend's pod) and leave for the client. */
#include "lib/lb_scene.h"

/* --- The remote backend's reply: back to the client, from the frontend, and out of the
 * device the FIB names: never through the stack, to which a source of this node's own is a
 * martian. --- */
PKTGEN(remote_reply_translated)
{
	return build_tcp4(ctx, REMOTE_POD, NODE_IP, POD_PORT, NAT_PORT, TCP_F_SYN | TCP_F_ACK);
}

SETUP(remote_reply_translated)
{
	nodeport(CONFIG_F_HOST_ROUTING, 0, IPPROTO_TCP, 0, 1, BE_REMOTE);
	remote_flow_state();
	mock_fib_success();
	return test_tail_call(ctx, HOST_INGRESS);
}

/* The reply of CLIENT's flow, translated back (NodePort -> client) and sent out by the FIB. */
static __always_inline int reply_to_client_ok(struct __sk_buff *ctx)
{
	return verdict_of(ctx) == TC_ACT_REDIRECT && mock()->redirect_kind == MOCK_REDIRECT &&
	       mock()->redirect_ifindex == FIB_IFINDEX && pkt_u8(ctx, OFF_DMAC + 5) == 0xdd &&
	       pkt_u8(ctx, OFF_SMAC + 5) == 0x55 && pkt_u32(ctx, OFF_DADDR) == bpf_htonl(CLIENT) &&
	       pkt_u16(ctx, OFF_DPORT) == bpf_htons(CLIENT_PORT) &&
	       pkt_u32(ctx, OFF_SADDR) == bpf_htonl(NODE_IP) &&
	       pkt_u16(ctx, OFF_SPORT) == bpf_htons(NODEPORT) && test_ipv4_csum_ok(ctx) &&
	       test_l4_csum_ok(ctx);
}

CHECK(remote_reply_translated)
{
	test_assert(reply_to_client_ok(ctx));
	return TEST_PASS;
}

/* --- In tunnel mode the reply may come back through the tunnel: translated the same way. --- */
PKTGEN(remote_reply_from_tunnel)
{
	return build_tcp4(ctx, REMOTE_POD, NODE_IP, POD_PORT, NAT_PORT, TCP_F_SYN | TCP_F_ACK);
}

SETUP(remote_reply_from_tunnel)
{
	nodeport(CONFIG_F_TUNNEL, 0, IPPROTO_TCP, 0, 1, BE_REMOTE);
	remote_flow_state();
	mock_fib_success();
	struct mock_state *m = mock();
	if (m) {
		m->key_present = 1;
		m->key_id = 3003;
	}
	return test_tail_call(ctx, OVERLAY_INGRESS);
}

CHECK(remote_reply_from_tunnel)
{
	test_assert(reply_to_client_ok(ctx));
	return TEST_PASS;
}

/* --- The local backend's reply leaves its pod from the frontend (conntrack knows it as the
 * reply of the connection delivered into the pod), out by the FIB. --- */
PKTGEN(local_reply_from_frontend)
{
	return build_tcp4(ctx, POD_IP, CLIENT, POD_PORT, CLIENT_PORT, TCP_F_SYN | TCP_F_ACK);
}

SETUP(local_reply_from_frontend)
{
	nodeport(0, 0, IPPROTO_TCP, 0, 1, BE_LOCAL);
	delivered_to_pod(NODE_IP);
	return test_tail_call(ctx, FROM_CONTAINER);
}

CHECK(local_reply_from_frontend)
{
	test_assert(reply_to_client_ok(ctx));
	struct ct_entry *ct = client_conn();
	test_assert(ct && ct->rx_packets == 1 && (ct->flags & CT_F_SEEN_REPLY));
	return TEST_PASS;
}

/* --- lb_stage.h: a reply this node routes back to its client loses one TTL, as the request
 * did (lb_reply_out() sends it with lb_redirect(..., 0)). --- */
PKTGEN(regression_reply_ttl_decremented)
{
	return build_tcp4(ctx, REMOTE_POD, NODE_IP, POD_PORT, NAT_PORT, TCP_F_SYN | TCP_F_ACK);
}

SETUP(regression_reply_ttl_decremented)
{
	nodeport(CONFIG_F_HOST_ROUTING, 0, IPPROTO_TCP, 0, 1, BE_REMOTE);
	remote_flow_state();
	mock_fib_success();
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(regression_reply_ttl_decremented)
{
	test_assert(reply_to_client_ok(ctx));
	test_assert(pkt_u8(ctx, OFF_TTL) == 63);
	return TEST_PASS;
}

/* --- lb_stage.h: the same reply tuple, a moment later, for another IPv6 frontend of the same
 * /32 and port: the reverse entry must name the new frontend. --- */
static const __u32 OTHER6[4] = { 0xfd000000, 0, 0, 0x0c };

PKTGEN(regression_ipv6_rev_entry_follows_frontend)
{
	return build_l4_6(ctx, CLIENT6, NODE6, IPPROTO_TCP, CLIENT_PORT, NODEPORT);
}

SETUP(regression_ipv6_rev_entry_follows_frontend)
{
	nodeport6(0, POD6, 1);
	rev_put(addr6(POD6), addr6(CLIENT6), POD_PORT, CLIENT_PORT, IPPROTO_TCP, 6, addr6(OTHER6),
		NODEPORT);
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(regression_ipv6_rev_entry_follows_frontend)
{
	struct lb_rev_entry *rev =
		rev_get(addr6(POD6), addr6(CLIENT6), POD_PORT, CLIENT_PORT, IPPROTO_TCP, 6);
	test_assert(rev && addr_eq(rev->addr, addr6(NODE6)));
	return TEST_PASS;
}
