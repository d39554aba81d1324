/* Datapath unit tests for bpf_lb.c: direct server return. The balancing node adds the service
 * address as an IP option to a flow's first packet; the backend's node records it and its pod's
 * reply leaves from the service address. */
#include "lib/lb_scene.h"

/* --- DSR: a SYN for a remote backend keeps the client's address and carries the frontend in
 * an IP option (ihl 7); no NAT, no reverse entry on this node. --- */
PKTGEN(dsr_syn_carries_frontend)
{
	return syn_to_nodeport(ctx, CLIENT);
}

SETUP(dsr_syn_carries_frontend)
{
	nodeport(CONFIG_F_HOST_ROUTING, LB_CFG_F_DSR, IPPROTO_TCP, 0, 1, BE_REMOTE);
	mock_fib_success();
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(dsr_syn_carries_frontend)
{
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_ifindex == FIB_IFINDEX);
	test_assert(pkt_len(ctx) == 54 + DSR_OPT_LEN);
	test_assert(pkt_u8(ctx, 14) == 0x47 && pkt_u16(ctx, 16) == bpf_htons(40 + DSR_OPT_LEN));
	test_assert(pkt_u8(ctx, 34) == DSR_OPT_TYPE && pkt_u8(ctx, 35) == DSR_OPT_LEN);
	test_assert(pkt_u16(ctx, 36) == bpf_htons(NODEPORT));
	test_assert(pkt_u32(ctx, 38) == bpf_htonl(NODE_IP));
	test_assert(pkt_u32(ctx, OFF_SADDR) == bpf_htonl(CLIENT));
	test_assert(pkt_u32(ctx, OFF_DADDR) == bpf_htonl(REMOTE_POD));
	test_assert(pkt_u16(ctx, 42) == bpf_htons(CLIENT_PORT)); /* TCP, after the option */
	test_assert(pkt_u16(ctx, 44) == bpf_htons(POD_PORT));
	test_assert(pkt_u8(ctx, OFF_TTL) == 63);
	test_assert(test_csum_range_ok(ctx, 14, 28));
	test_assert(test_l4_csum_ok_ihl(ctx));
	test_assert(!snat_get(addr4(CLIENT), addr4(REMOTE_POD), CLIENT_PORT, POD_PORT,
			      IPPROTO_TCP, 4, CT_EGRESS));
	test_assert(!rev_get(addr4(REMOTE_POD), addr4(CLIENT), POD_PORT, CLIENT_PORT,
			     IPPROTO_TCP, 4));
	struct lb_ct_entry *flow = flow_get4(CLIENT, NODE_IP, CLIENT_PORT, NODEPORT, IPPROTO_TCP);
	test_assert(flow && flow->backend == BE_REMOTE);
	return TEST_PASS;
}

/* --- DSR, later packets of the flow (tunnel mode): no option, the client's identity in the
 * VNI. --- */
PKTGEN(dsr_ack_without_option)
{
	return build_tcp4(ctx, CLIENT, NODE_IP, CLIENT_PORT, NODEPORT, TCP_F_ACK);
}

SETUP(dsr_ack_without_option)
{
	nodeport(CONFIG_F_TUNNEL, LB_CFG_F_DSR, IPPROTO_TCP, 0, 1, BE_REMOTE);
	flow_put4(CLIENT, NODE_IP, CLIENT_PORT, NODEPORT, IPPROTO_TCP, FE_TCP, BE_REMOTE);
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(dsr_ack_without_option)
{
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_ifindex == TUNNEL_IFINDEX);
	test_assert(mock()->set_key_id == IDENTITY_WORLD_IPV4);
	test_assert(mock()->set_key_remote == REMOTE_NODE);
	test_assert(pkt_len(ctx) == 54 + 12 && pkt_u8(ctx, 14) == 0x45);
	test_assert(pkt_u32(ctx, OFF_SADDR) == bpf_htonl(CLIENT));
	test_assert(pkt_u32(ctx, OFF_DADDR) == bpf_htonl(REMOTE_POD));
	test_assert(test_ipv4_csum_ok(ctx));
	test_assert(test_l4_csum_ok(ctx));
	return TEST_PASS;
}

/* --- DSR on the backend's node: the option leaves the frontend (REMOTE_NODE:30080 here) for
 * the reply; the request is delivered with it. --- */
PKTGEN(dsr_backend_node_records)
{
	return build_dsr_syn(ctx, CLIENT, POD_IP, CLIENT_PORT, POD_PORT, REMOTE_NODE, NODEPORT);
}

SETUP(dsr_backend_node_records)
{
	nodeport(0, LB_CFG_F_DSR, IPPROTO_TCP, 0, 1, BE_LOCAL);
	/* the option names another node's NodePort: this node serves the same port */
	add_ipcache4(REMOTE_NODE, 32, IDENTITY_REMOTE_NODE, 0, IPCACHE_F_NODE);
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(dsr_backend_node_records)
{
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_kind == MOCK_REDIRECT_PEER);
	test_assert(mock()->redirect_ifindex == POD_IFINDEX);
	test_assert(pkt_u8(ctx, 14) == 0x47 && pkt_u8(ctx, OFF_TTL) == 63);
	test_assert(test_csum_range_ok(ctx, 14, 28));
	test_assert(test_l4_csum_ok_ihl(ctx));
	struct lb_rev_entry *rev =
		rev_get(addr4(POD_IP), addr4(CLIENT), POD_PORT, CLIENT_PORT, IPPROTO_TCP, 4);
	test_assert(rev && rev->addr[0] == bpf_htonl(REMOTE_NODE));
	test_assert(rev->port == bpf_htons(NODEPORT) && rev->family == 4);
	test_assert(client_conn() != 0);
	return TEST_PASS;
}

/* --- An option that names no frontend this node knows is ignored (anyone can send one). --- */
PKTGEN(dsr_option_unknown_frontend_ignored)
{
	return build_dsr_syn(ctx, CLIENT, POD_IP, CLIENT_PORT, POD_PORT, REMOTE_NODE, NODEPORT + 1);
}

SETUP(dsr_option_unknown_frontend_ignored)
{
	nodeport(0, LB_CFG_F_DSR, IPPROTO_TCP, 0, 1, BE_LOCAL);
	add_ipcache4(REMOTE_NODE, 32, IDENTITY_REMOTE_NODE, 0, IPCACHE_F_NODE);
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(dsr_option_unknown_frontend_ignored)
{
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_kind == MOCK_REDIRECT_PEER);
	test_assert(rev_get(addr4(POD_IP), addr4(CLIENT), POD_PORT, CLIENT_PORT, IPPROTO_TCP, 4) ==
		    0);
	return TEST_PASS;
}

/* --- ... and the pod's reply leaves from that frontend, straight to the client (out by the
 * FIB). --- */
PKTGEN(dsr_backend_reply)
{
	return build_tcp4(ctx, POD_IP, CLIENT, POD_PORT, CLIENT_PORT, TCP_F_SYN | TCP_F_ACK);
}

SETUP(dsr_backend_reply)
{
	nodeport(0, LB_CFG_F_DSR, IPPROTO_TCP, 0, 1, BE_LOCAL);
	delivered_to_pod(REMOTE_NODE);
	return test_tail_call(ctx, FROM_CONTAINER);
}

CHECK(dsr_backend_reply)
{
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_ifindex == FIB_IFINDEX);
	test_assert(pkt_u32(ctx, OFF_SADDR) == bpf_htonl(REMOTE_NODE));
	test_assert(pkt_u16(ctx, OFF_SPORT) == bpf_htons(NODEPORT));
	test_assert(pkt_u32(ctx, OFF_DADDR) == bpf_htonl(CLIENT));
	test_assert(test_ipv4_csum_ok(ctx));
	test_assert(test_l4_csum_ok(ctx));
	return TEST_PASS;
}
