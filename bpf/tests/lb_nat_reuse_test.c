/* Datapath unit tests for the load balancer's SNAT to remote backends (bpf/lib/nat.h): how a
 * translation records that its connection closed, when a new connection's SYN may take a closed
 * translation's port at once (a RST, or FINs both ways with the client's first: nothing lingers
 * at the backend), when it may not (a live one, the backend closed first and holds TIME_WAIT, a
 * packet that is no SYN), and that a translation's reply is one also on a frontend's port. */
#include "lib/lb_scene.h"

#define OTHER 0xc6336415 /* 198.51.100.21: another client whose flows hold the NAT ports */
#define OTHER_PORT 41000
#define FE_ON_NAT_PORT 13 /* a frontend (a HostPort) on NODE_IP:NAT_PORT/TCP */

/* A NodePort whose backend is REMOTE_POD (native routing, the FIB answers). */
static __always_inline void remote_scene(void)
{
	nodeport(CONFIG_F_HOST_ROUTING, 0, IPPROTO_TCP, 0, 1, BE_REMOTE);
	mock_fib_success();
}

/* ... and CLIENT's translated connection to it, as its earlier packets left it. */
static __always_inline void client_flow_scene(void)
{
	remote_scene();
	remote_flow_state();
	flow_put4(CLIENT, NODE_IP, CLIENT_PORT, NODEPORT, IPPROTO_TCP, FE_TCP, BE_REMOTE);
}

/* Every NAT port towards REMOTE_POD:POD_PORT held by a translation of OTHER (from
 * OTHER_PORT + i), not expired, closed as `flags` (NAT_F_*) says. */
static __always_inline void ports_held(__u16 flags)
{
	for (__u16 i = 0; i <= NAT_MAX - NAT_MIN; i++) {
		__u16 port = NAT_MIN + i;
		snat_put4(OTHER, REMOTE_POD, OTHER_PORT + i, POD_PORT, IPPROTO_TCP, CT_EGRESS,
			  NODE_IP, port);
		snat_put4(REMOTE_POD, NODE_IP, POD_PORT, port, IPPROTO_TCP, CT_INGRESS, OTHER,
			  OTHER_PORT + i);
		struct nat_entry *e = snat_get(addr4(REMOTE_POD), addr4(NODE_IP), POD_PORT, port,
					       IPPROTO_TCP, 4, CT_INGRESS);
		if (e)
			e->flags = flags;
	}
}

static __always_inline struct nat_entry *reply_side(__u16 port)
{
	return snat_get(addr4(REMOTE_POD), addr4(NODE_IP), POD_PORT, port, IPPROTO_TCP, 4,
			CT_INGRESS);
}

/* The packet was dropped for want of a port, and every translation of OTHER is still there. */
static __always_inline int no_port_and_untouched(struct __sk_buff *ctx)
{
	if (verdict_of(ctx) != TC_ACT_SHOT || drops(DROP_NAT_NO_PORT) != 1)
		return 0;
	for (__u16 i = 0; i <= NAT_MAX - NAT_MIN; i++) {
		struct nat_entry *back = reply_side(NAT_MIN + i);
		if (!back || back->to_addr[0] != bpf_htonl(OTHER) ||
		    !snat_get(addr4(OTHER), addr4(REMOTE_POD), OTHER_PORT + i, POD_PORT, IPPROTO_TCP,
			      4, CT_EGRESS))
			return 0;
	}
	return 1;
}

/* CLIENT's new connection took one of OTHER's closed translations: its port is CLIENT's now,
 * with a fresh close record, and OTHER's outbound half of it is gone. */
static __always_inline int took_closed_port(struct __sk_buff *ctx)
{
	__u16 port = remote_snat_ok(ctx);
	if (!port || verdict_of(ctx) != TC_ACT_REDIRECT)
		return 0;
	struct nat_entry *back = reply_side(port);
	return back && back->flags == 0 &&
	       !snat_get(addr4(OTHER), addr4(REMOTE_POD), OTHER_PORT + (port - NAT_MIN), POD_PORT,
			 IPPROTO_TCP, 4, CT_EGRESS);
}

/* --- Regression (nat.h): a closed translation held its port for the closing lifetime (10 s),
 * so a busy NodePort ran out of ports. Closed by a RST, the port goes to the next SYN. --- */
PKTGEN(regression_syn_takes_port_closed_by_rst)
{
	return syn_to_nodeport(ctx, CLIENT);
}

SETUP(regression_syn_takes_port_closed_by_rst)
{
	remote_scene();
	ports_held(NAT_F_RST);
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(regression_syn_takes_port_closed_by_rst)
{
	test_assert(took_closed_port(ctx));
	return TEST_PASS;
}

/* --- FINs both ways, the client's first: the TIME_WAIT is the client's, the port is free. --- */
PKTGEN(syn_takes_port_client_closed_first)
{
	return syn_to_nodeport(ctx, CLIENT);
}

SETUP(syn_takes_port_client_closed_first)
{
	remote_scene();
	ports_held(NAT_F_FIN_OUT | NAT_F_OUT_FIRST | NAT_F_FIN_IN);
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(syn_takes_port_client_closed_first)
{
	test_assert(took_closed_port(ctx));
	return TEST_PASS;
}

/* --- FINs both ways, the backend's first: the backend holds the tuple in TIME_WAIT and could
 * refuse a new SYN on it, so the port waits for the closing lifetime. --- */
PKTGEN(backend_closed_first_keeps_port)
{
	return syn_to_nodeport(ctx, CLIENT);
}

SETUP(backend_closed_first_keeps_port)
{
	remote_scene();
	ports_held(NAT_F_FIN_IN | NAT_F_FIN_OUT);
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(backend_closed_first_keeps_port)
{
	test_assert(no_port_and_untouched(ctx));
	return TEST_PASS;
}

/* --- Only the client's FIN (half-closed, the backend may still send): not closed. --- */
PKTGEN(half_closed_keeps_port)
{
	return syn_to_nodeport(ctx, CLIENT);
}

SETUP(half_closed_keeps_port)
{
	remote_scene();
	ports_held(NAT_F_FIN_OUT | NAT_F_OUT_FIRST);
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(half_closed_keeps_port)
{
	test_assert(no_port_and_untouched(ctx));
	return TEST_PASS;
}

/* --- Live translations keep their ports. --- */
PKTGEN(live_translations_keep_ports)
{
	return syn_to_nodeport(ctx, CLIENT);
}

SETUP(live_translations_keep_ports)
{
	remote_scene();
	ports_held(0);
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(live_translations_keep_ports)
{
	test_assert(no_port_and_untouched(ctx));
	return TEST_PASS;
}

/* --- Only a SYN opens a connection: another packet of an unknown flow takes no closed port. */
PKTGEN(non_syn_takes_no_closed_port)
{
	return build_tcp4(ctx, CLIENT, NODE_IP, CLIENT_PORT, NODEPORT, TCP_F_ACK);
}

SETUP(non_syn_takes_no_closed_port)
{
	remote_scene();
	ports_held(NAT_F_RST);
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(non_syn_takes_no_closed_port)
{
	test_assert(no_port_and_untouched(ctx));
	return TEST_PASS;
}

/* --- The client's RST through the NodePort is recorded in the reply side. --- */
PKTGEN(client_rst_recorded)
{
	return build_tcp4(ctx, CLIENT, NODE_IP, CLIENT_PORT, NODEPORT, TCP_F_RST | TCP_F_ACK);
}

SETUP(client_rst_recorded)
{
	client_flow_scene();
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(client_rst_recorded)
{
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	test_assert(bpf_ntohs(pkt_u16(ctx, OFF_SPORT)) == NAT_PORT);
	struct nat_entry *back = reply_side(NAT_PORT);
	test_assert(back && back->flags == NAT_F_RST);
	return TEST_PASS;
}

/* --- The client's FIN first: recorded as the first. --- */
PKTGEN(client_fin_first_recorded)
{
	return build_tcp4(ctx, CLIENT, NODE_IP, CLIENT_PORT, NODEPORT, TCP_F_FIN | TCP_F_ACK);
}

SETUP(client_fin_first_recorded)
{
	client_flow_scene();
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(client_fin_first_recorded)
{
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	struct nat_entry *back = reply_side(NAT_PORT);
	test_assert(back && back->flags == (NAT_F_FIN_OUT | NAT_F_OUT_FIRST));
	return TEST_PASS;
}

/* --- The client's FIN after the backend's: recorded, but not as the first. --- */
PKTGEN(client_fin_second_recorded)
{
	return build_tcp4(ctx, CLIENT, NODE_IP, CLIENT_PORT, NODEPORT, TCP_F_FIN | TCP_F_ACK);
}

SETUP(client_fin_second_recorded)
{
	client_flow_scene();
	struct nat_entry *back = reply_side(NAT_PORT);
	if (back)
		back->flags = NAT_F_FIN_IN;
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(client_fin_second_recorded)
{
	struct nat_entry *back = reply_side(NAT_PORT);
	test_assert(back && back->flags == (NAT_F_FIN_IN | NAT_F_FIN_OUT));
	test_assert(!nat_reusable(back));
	return TEST_PASS;
}

/* --- The backend's FIN, on the way back: recorded in the reply side. --- */
PKTGEN(backend_fin_recorded)
{
	return build_tcp4(ctx, REMOTE_POD, NODE_IP, POD_PORT, NAT_PORT, TCP_F_FIN | TCP_F_ACK);
}

SETUP(backend_fin_recorded)
{
	remote_scene();
	remote_flow_state();
	struct nat_entry *back = reply_side(NAT_PORT);
	if (back)
		back->flags = NAT_F_FIN_OUT | NAT_F_OUT_FIRST;
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(backend_fin_recorded)
{
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	test_assert(pkt_u32(ctx, OFF_DADDR) == bpf_htonl(CLIENT));
	struct nat_entry *back = reply_side(NAT_PORT);
	test_assert(back && back->flags == (NAT_F_FIN_OUT | NAT_F_OUT_FIRST | NAT_F_FIN_IN));
	test_assert(nat_reusable(back));
	return TEST_PASS;
}

/* --- The client reopens its own closed connection (the same tuple): it keeps its translation,
 * and the close record starts over, so no other SYN can take the port from the live one. --- */
PKTGEN(syn_reopening_tuple_clears_close)
{
	return syn_to_nodeport(ctx, CLIENT);
}

SETUP(syn_reopening_tuple_clears_close)
{
	remote_scene();
	remote_flow_state();
	struct nat_entry *back = reply_side(NAT_PORT);
	if (back)
		back->flags = NAT_F_RST;
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(syn_reopening_tuple_clears_close)
{
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	test_assert(bpf_ntohs(pkt_u16(ctx, OFF_SPORT)) == NAT_PORT);
	struct nat_entry *back = reply_side(NAT_PORT);
	test_assert(back && back->flags == 0 && back->to_addr[0] == bpf_htonl(CLIENT));
	return TEST_PASS;
}

/* --- A frontend on a NAT port (a HostPort in the range): the reply of a translation that has
 * the port is translated back to its client, not balanced to the frontend's backend. --- */
PKTGEN(reply_on_frontend_port_is_reply)
{
	return build_tcp4(ctx, REMOTE_POD, NODE_IP, POD_PORT, NAT_PORT, TCP_F_SYN | TCP_F_ACK);
}

SETUP(reply_on_frontend_port_is_reply)
{
	nodeport(CONFIG_F_HOST_ROUTING, 0, IPPROTO_TCP, 0, 1, BE_REMOTE);
	lb_frontend_add(addr4(NODE_IP), 4, NAT_PORT, IPPROTO_TCP, FE_ON_NAT_PORT, 1,
			LB_FE_EXTERNAL);
	lb_slot_add(FE_ON_NAT_PORT, 1, BE_LOCAL);
	remote_flow_state();
	mock_fib_success();
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(reply_on_frontend_port_is_reply)
{
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_kind == MOCK_REDIRECT);
	test_assert(pkt_u32(ctx, OFF_DADDR) == bpf_htonl(CLIENT));
	test_assert(pkt_u16(ctx, OFF_DPORT) == bpf_htons(CLIENT_PORT));
	test_assert(pkt_u16(ctx, OFF_SPORT) == bpf_htons(NODEPORT));
	test_assert(!flow_get4(REMOTE_POD, NODE_IP, POD_PORT, NAT_PORT, IPPROTO_TCP));
	return TEST_PASS;
}

/* --- ... and a packet on that port that is no translation's reply is the frontend's. --- */
PKTGEN(frontend_on_nat_port_still_served)
{
	return build_tcp4(ctx, CLIENT, NODE_IP, CLIENT_PORT, NAT_PORT, TCP_F_SYN);
}

SETUP(frontend_on_nat_port_still_served)
{
	nodeport(CONFIG_F_HOST_ROUTING, 0, IPPROTO_TCP, 0, 1, BE_REMOTE);
	lb_frontend_add(addr4(NODE_IP), 4, NAT_PORT, IPPROTO_TCP, FE_ON_NAT_PORT, 1,
			LB_FE_EXTERNAL);
	lb_slot_add(FE_ON_NAT_PORT, 1, BE_LOCAL);
	remote_flow_state();
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(frontend_on_nat_port_still_served)
{
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_ifindex == POD_IFINDEX);
	test_assert(pkt_u32(ctx, OFF_DADDR) == bpf_htonl(POD_IP));
	return TEST_PASS;
}
