/* Datapath unit tests for bpf_lb.c: a NodePort balanced to a local backend and to a remote one
 * (SNAT over native routing or the tunnel), conntrack stickiness and affinity, source ranges,
 * Maglev's fallback, IPv6, and packets that are no frontend's. */
#include "lib/lb_scene.h"

/* --- NodePort, local backend: the destination becomes the pod, the client's address stays,
 * the pod gets the packet through its veth's peer; the flow and its reply tuple are recorded. */
PKTGEN(nodeport_local_backend)
{
	return syn_to_nodeport(ctx, CLIENT);
}

SETUP(nodeport_local_backend)
{
	nodeport(0, 0, IPPROTO_TCP, 0, 1, BE_LOCAL);
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(nodeport_local_backend)
{
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_kind == MOCK_REDIRECT_PEER);
	test_assert(mock()->redirect_ifindex == POD_IFINDEX);
	test_assert(pkt_u32(ctx, OFF_DADDR) == bpf_htonl(POD_IP));
	test_assert(pkt_u16(ctx, OFF_DPORT) == bpf_htons(POD_PORT));
	test_assert(pkt_u32(ctx, OFF_SADDR) == bpf_htonl(CLIENT));
	test_assert(pkt_u16(ctx, OFF_SPORT) == bpf_htons(CLIENT_PORT));
	test_assert(pkt_u8(ctx, OFF_TTL) == 63);
	test_assert(pkt_u8(ctx, OFF_DMAC + 5) == 0x10 && pkt_u8(ctx, OFF_SMAC + 5) == 0x11);
	test_assert(test_ipv4_csum_ok(ctx));
	test_assert(test_l4_csum_ok(ctx));
	struct lb_ct_entry *flow = flow_get4(CLIENT, NODE_IP, CLIENT_PORT, NODEPORT, IPPROTO_TCP);
	test_assert(flow && flow->backend == BE_LOCAL && flow->frontend == FE_TCP);
	test_assert(flow->expires > MOCK_NOW);
	struct lb_rev_entry *rev =
		rev_get(addr4(POD_IP), addr4(CLIENT), POD_PORT, CLIENT_PORT, IPPROTO_TCP, 4);
	test_assert(rev && rev->addr[0] == bpf_htonl(NODE_IP) && rev->port == bpf_htons(NODEPORT));
	test_assert(rev->family == 4);
	struct ct_entry *ct = client_conn();
	test_assert(ct && ct->src_identity == IDENTITY_WORLD_IPV4);
	test_assert(!snat_get(addr4(CLIENT), addr4(POD_IP), CLIENT_PORT, POD_PORT, IPPROTO_TCP, 4,
			      CT_EGRESS));
	return TEST_PASS;
}

/* --- A flow keeps its backend: every slot now holds another one, which a new selection would
 * have to pick, yet the packet still goes to the backend in hypha_lb_ct. --- */
PKTGEN(flow_keeps_backend)
{
	return build_tcp4(ctx, CLIENT, NODE_IP, CLIENT_PORT, NODEPORT, TCP_F_ACK);
}

SETUP(flow_keeps_backend)
{
	nodeport(0, 0, IPPROTO_TCP, 0, 2, BE_LOCAL2);
	flow_put4(CLIENT, NODE_IP, CLIENT_PORT, NODEPORT, IPPROTO_TCP, FE_TCP, BE_LOCAL);
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(flow_keeps_backend)
{
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_ifindex == POD_IFINDEX);
	test_assert(pkt_u32(ctx, OFF_DADDR) == bpf_htonl(POD_IP));
	test_assert(test_l4_csum_ok(ctx));
	struct lb_ct_entry *flow = flow_get4(CLIENT, NODE_IP, CLIENT_PORT, NODEPORT, IPPROTO_TCP);
	test_assert(flow && flow->backend == BE_LOCAL);
	test_assert(flow->expires > MOCK_NOW); /* refreshed */
	test_assert(!ct_get4(CLIENT, POD2_IP, CLIENT_PORT, POD_PORT, IPPROTO_TCP, CT_INGRESS));
	return TEST_PASS;
}

/* --- A flow whose backend was deleted gets a new one from the slots. --- */
PKTGEN(flow_of_deleted_backend_moves)
{
	return build_tcp4(ctx, CLIENT, NODE_IP, CLIENT_PORT, NODEPORT, TCP_F_ACK);
}

SETUP(flow_of_deleted_backend_moves)
{
	nodeport(0, 0, IPPROTO_TCP, 0, 1, BE_LOCAL);
	flow_put4(CLIENT, NODE_IP, CLIENT_PORT, NODEPORT, IPPROTO_TCP, FE_TCP, 99);
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(flow_of_deleted_backend_moves)
{
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	test_assert(pkt_u32(ctx, OFF_DADDR) == bpf_htonl(POD_IP));
	struct lb_ct_entry *flow = flow_get4(CLIENT, NODE_IP, CLIENT_PORT, NODEPORT, IPPROTO_TCP);
	test_assert(flow && flow->backend == BE_LOCAL);
	return TEST_PASS;
}

/* --- Session affinity: a new flow of a client goes to the backend it used before (while the
 * affinity is fresh), not to the one the slots would give. --- */
PKTGEN(affinity_keeps_client)
{
	return syn_to_nodeport(ctx, CLIENT);
}

SETUP(affinity_keeps_client)
{
	nodeport(0, 0, IPPROTO_TCP, LB_FE_AFFINITY, 1, BE_LOCAL);
	struct lb_frontend_key fkey = { .port = bpf_htons(NODEPORT), .proto = IPPROTO_TCP,
					.family = 4 };
	fkey.addr[0] = bpf_htonl(NODE_IP);
	struct lb_frontend *fe = bpf_map_lookup_elem(&hypha_lb_frontends, &fkey);
	if (fe)
		fe->affinity_timeout = 60;
	struct lb_affinity_key akey = { .frontend = FE_TCP, .kind = LB_AFFINITY_BY_ADDR };
	akey.client[0] = bpf_htonl(CLIENT);
	struct lb_affinity a = { .last_used = MOCK_NOW - 30 * NS_PER_SEC, .backend = BE_LOCAL2 };
	bpf_map_update_elem(&hypha_lb_affinity, &akey, &a, BPF_ANY);
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(affinity_keeps_client)
{
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_ifindex == POD2_IFINDEX);
	test_assert(pkt_u32(ctx, OFF_DADDR) == bpf_htonl(POD2_IP));
	struct lb_affinity_key akey = { .frontend = FE_TCP, .kind = LB_AFFINITY_BY_ADDR };
	akey.client[0] = bpf_htonl(CLIENT);
	struct lb_affinity *a = bpf_map_lookup_elem(&hypha_lb_affinity, &akey);
	test_assert(a && a->backend == BE_LOCAL2 && a->last_used == MOCK_NOW);
	return TEST_PASS;
}

/* --- NodePort, remote backend, native routing: SNAT to the node, out by the FIB's answer. --- */
PKTGEN(remote_backend_snat_native)
{
	return syn_to_nodeport(ctx, CLIENT);
}

SETUP(remote_backend_snat_native)
{
	nodeport(CONFIG_F_HOST_ROUTING, 0, IPPROTO_TCP, 0, 1, BE_REMOTE);
	mock_fib_success();
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(remote_backend_snat_native)
{
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_kind == MOCK_REDIRECT);
	test_assert(mock()->redirect_ifindex == FIB_IFINDEX);
	test_assert(mock()->set_key_calls == 0);
	test_assert(pkt_u8(ctx, OFF_DMAC + 5) == 0xdd && pkt_u8(ctx, OFF_SMAC + 5) == 0x55);
	test_assert(pkt_u8(ctx, OFF_TTL) == 63);
	test_assert(remote_snat_ok(ctx) != 0);
	return TEST_PASS;
}

/* --- The same in tunnel mode: to the backend's node through the VXLAN device, as the host. --- */
PKTGEN(remote_backend_snat_tunnel)
{
	return syn_to_nodeport(ctx, CLIENT);
}

SETUP(remote_backend_snat_tunnel)
{
	nodeport(CONFIG_F_TUNNEL, 0, IPPROTO_TCP, 0, 1, BE_REMOTE);
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(remote_backend_snat_tunnel)
{
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_kind == MOCK_REDIRECT);
	test_assert(mock()->redirect_ifindex == TUNNEL_IFINDEX);
	test_assert(mock()->set_key_calls == 1);
	test_assert(mock()->set_key_id == IDENTITY_HOST);
	test_assert(mock()->set_key_remote == REMOTE_NODE);
	test_assert(mock()->fib_calls == 0);
	test_assert(remote_snat_ok(ctx) != 0);
	return TEST_PASS;
}

/* --- Native routing, no neighbour entry for the next hop yet: bpf_redirect_neigh() resolves
 * it (the stack would drop the SNATed packet as a martian). --- */
PKTGEN(remote_backend_no_neighbour)
{
	return syn_to_nodeport(ctx, CLIENT);
}

SETUP(remote_backend_no_neighbour)
{
	nodeport(CONFIG_F_HOST_ROUTING, 0, IPPROTO_TCP, 0, 1, BE_REMOTE);
	struct mock_state *m = mock();
	if (m)
		m->fib_ret = BPF_FIB_LKUP_RET_NO_NEIGH;
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(remote_backend_no_neighbour)
{
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_kind == MOCK_REDIRECT_NEIGH);
	test_assert(pkt_u8(ctx, OFF_TTL) == 63);
	test_assert(remote_snat_ok(ctx) != 0);
	return TEST_PASS;
}

/* --- Source ranges: a client inside the allowed /24 is balanced ... --- */
PKTGEN(source_range_inside)
{
	return syn_to_nodeport(ctx, CLIENT);
}

SETUP(source_range_inside)
{
	nodeport(0, 0, IPPROTO_TCP, LB_FE_SOURCE_RANGES, 1, BE_LOCAL);
	lb_source_range_add4(FE_TCP, 0xc6336400, 24);
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(source_range_inside)
{
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_ifindex == POD_IFINDEX);
	test_assert(pkt_u32(ctx, OFF_DADDR) == bpf_htonl(POD_IP));
	return TEST_PASS;
}

/* --- ... one outside is dropped, untouched. --- */
PKTGEN(source_range_outside)
{
	return syn_to_nodeport(ctx, OUTSIDER);
}

SETUP(source_range_outside)
{
	nodeport(0, 0, IPPROTO_TCP, LB_FE_SOURCE_RANGES, 1, BE_LOCAL);
	lb_source_range_add4(FE_TCP, 0xc6336400, 24);
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(source_range_outside)
{
	test_assert(verdict_of(ctx) == TC_ACT_SHOT);
	test_assert(drops(DROP_LB_SOURCE_RANGE) == 1);
	test_assert(pkt_u32(ctx, OFF_DADDR) == bpf_htonl(NODE_IP));
	test_assert(!flow_get4(OUTSIDER, NODE_IP, CLIENT_PORT, NODEPORT, IPPROTO_TCP));
	return TEST_PASS;
}

/* --- Maglev without its table: the selection falls back to the slots, by the flow's hash
 * (deterministic, unlike the random pick). The table itself is an inner map, which BPF cannot
 * create or insert, so the table lookup stays untested here (plugins/lb/maglev_test.ts covers
 * the table; a user-space test would have to put one in hypha_lb_maglev). --- */
#define MAGLEV_SEED 0x5eed

PKTGEN(maglev_without_table_uses_slots)
{
	return syn_to_nodeport(ctx, CLIENT);
}

SETUP(maglev_without_table_uses_slots)
{
	nodeport(0, 0, IPPROTO_TCP, LB_FE_MAGLEV, 2, BE_LOCAL);
	lb_slot_add(FE_TCP, 2, BE_LOCAL2);
	lb_enable(0, 17, MAGLEV_SEED);
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(maglev_without_table_uses_slots)
{
	struct hypha_tuple t = { .sport = bpf_htons(CLIENT_PORT), .dport = bpf_htons(NODEPORT),
				 .proto = IPPROTO_TCP, .family = 4 };
	t.saddr[0] = bpf_htonl(CLIENT);
	t.daddr[0] = bpf_htonl(NODE_IP);
	int first = lb_flow_hash(&t, MAGLEV_SEED) % 2 == 0;
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_ifindex == (first ? POD_IFINDEX : POD2_IFINDEX));
	test_assert(pkt_u32(ctx, OFF_DADDR) == bpf_htonl(first ? POD_IP : POD2_IP));
	struct lb_ct_entry *flow = flow_get4(CLIENT, NODE_IP, CLIENT_PORT, NODEPORT, IPPROTO_TCP);
	test_assert(flow && flow->backend == (first ? BE_LOCAL : BE_LOCAL2));
	return TEST_PASS;
}

/* --- Not for a frontend: core's behaviour, a remote pod's packet delivered into the pod. --- */
PKTGEN(not_a_frontend_delivered)
{
	return build_tcp4(ctx, REMOTE_POD, POD_IP, 33000, POD_PORT, TCP_F_SYN);
}

SETUP(not_a_frontend_delivered)
{
	nodeport(0, 0, IPPROTO_TCP, 0, 1, BE_LOCAL);
	add_ipcache4(REMOTE_POD, 32, 3003, REMOTE_NODE, IPCACHE_F_ENDPOINT);
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(not_a_frontend_delivered)
{
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_kind == MOCK_REDIRECT_PEER);
	test_assert(mock()->redirect_ifindex == POD_IFINDEX);
	test_assert(pkt_u32(ctx, OFF_SADDR) == bpf_htonl(REMOTE_POD));
	test_assert(pkt_u16(ctx, OFF_DPORT) == bpf_htons(POD_PORT));
	test_assert(pkt_u8(ctx, OFF_TTL) == 63);
	struct ct_entry *ct = ct_get4(REMOTE_POD, POD_IP, 33000, POD_PORT, IPPROTO_TCP, CT_INGRESS);
	test_assert(ct && ct->src_identity == 3003);
	test_assert(!flow_get4(REMOTE_POD, POD_IP, 33000, POD_PORT, IPPROTO_TCP));
	return TEST_PASS;
}

/* --- A frontend the socket hooks balance (a ClusterIP) is not balanced per packet. --- */
#define CLUSTER_IP 0x0a600001 /* 10.96.0.1 */

PKTGEN(socket_frontend_not_balanced)
{
	return build_tcp4(ctx, CLIENT, CLUSTER_IP, CLIENT_PORT, 80, TCP_F_SYN);
}

SETUP(socket_frontend_not_balanced)
{
	nodeport(0, 0, IPPROTO_TCP, 0, 1, BE_LOCAL);
	lb_frontend_add(addr4(CLUSTER_IP), 4, 80, IPPROTO_TCP, 20, 1, LB_FE_SOCKET);
	lb_slot_add(20, 1, BE_LOCAL);
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(socket_frontend_not_balanced)
{
	test_assert(verdict_of(ctx) == TC_ACT_OK);
	test_assert(pkt_u32(ctx, OFF_DADDR) == bpf_htonl(CLUSTER_IP));
	test_assert(pkt_u16(ctx, OFF_DPORT) == bpf_htons(80));
	test_assert(!flow_get4(CLIENT, CLUSTER_IP, CLIENT_PORT, 80, IPPROTO_TCP));
	test_assert(mock()->redirect_kind == 0);
	return TEST_PASS;
}

/* --- IPv6 NodePort, local backend: the destination rewritten, the TCP checksum (over the IPv6
 * pseudo header) still valid. --- */
PKTGEN(ipv6_local_backend)
{
	return build_l4_6(ctx, CLIENT6, NODE6, IPPROTO_TCP, CLIENT_PORT, NODEPORT);
}

SETUP(ipv6_local_backend)
{
	nodeport6(0, POD6, 1);
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(ipv6_local_backend)
{
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_kind == MOCK_REDIRECT_PEER);
	test_assert(mock()->redirect_ifindex == POD_IFINDEX);
	test_assert(pkt_addr6_is(ctx, 22, addr6(CLIENT6)));
	test_assert(pkt_addr6_is(ctx, 38, addr6(POD6)));
	test_assert(pkt_u16(ctx, 54) == bpf_htons(CLIENT_PORT));
	test_assert(pkt_u16(ctx, 56) == bpf_htons(POD_PORT));
	test_assert(pkt_u8(ctx, 21) == 63); /* hop limit */
	test_assert(test_l4_csum6_ok(ctx));
	struct lb_rev_entry *rev =
		rev_get(addr6(POD6), addr6(CLIENT6), POD_PORT, CLIENT_PORT, IPPROTO_TCP, 6);
	test_assert(rev && addr_eq(rev->addr, addr6(NODE6)));
	test_assert(rev->port == bpf_htons(NODEPORT) && rev->family == 6);
	return TEST_PASS;
}

/* --- IPv6 NodePort, remote backend: SNAT to the node's IPv6 address. --- */
PKTGEN(ipv6_remote_backend_snat)
{
	return build_l4_6(ctx, CLIENT6, NODE6, IPPROTO_TCP, CLIENT_PORT, NODEPORT);
}

SETUP(ipv6_remote_backend_snat)
{
	nodeport6(CONFIG_F_HOST_ROUTING, REMOTE_POD6, 1);
	set_node_ipv6(NODE6);
	mock_fib_success();
	return test_tail_call(ctx, HOST_INGRESS);
}

CHECK(ipv6_remote_backend_snat)
{
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_ifindex == FIB_IFINDEX);
	test_assert(pkt_addr6_is(ctx, 22, addr6(NODE6)));
	test_assert(pkt_addr6_is(ctx, 38, addr6(REMOTE_POD6)));
	__u16 port = bpf_ntohs(pkt_u16(ctx, 54));
	test_assert(port >= NAT_MIN && port <= NAT_MAX);
	test_assert(pkt_u16(ctx, 56) == bpf_htons(POD_PORT));
	test_assert(test_l4_csum6_ok(ctx));
	struct nat_entry *back = snat_get(addr6(REMOTE_POD6), addr6(NODE6), POD_PORT, port,
					  IPPROTO_TCP, 6, CT_INGRESS);
	test_assert(back && addr_eq(back->to_addr, addr6(CLIENT6)));
	struct lb_rev_entry *rev =
		rev_get(addr6(REMOTE_POD6), addr6(CLIENT6), POD_PORT, CLIENT_PORT, IPPROTO_TCP, 6);
	test_assert(rev && addr_eq(rev->addr, addr6(NODE6)));
	return TEST_PASS;
}

/* --- The checksum checks themselves: they accept what pktgen builds (IPv6, IPv4 with
 * options) and refuse it once one byte changes. No SETUP: CHECK sees the PKTGEN packet. --- */
PKTGEN(checksum_checks_ipv6)
{
	return build_l4_6(ctx, CLIENT6, NODE6, IPPROTO_TCP, CLIENT_PORT, NODEPORT);
}

CHECK(checksum_checks_ipv6)
{
	test_assert(test_l4_csum6_ok(ctx));
	__u8 x = 0x77;
	bpf_skb_store_bytes(ctx, TEST_PKT_OFF + 40, &x, 1, 0); /* in the destination address */
	test_assert(!test_l4_csum6_ok(ctx));
	return TEST_PASS;
}

PKTGEN(checksum_checks_ip_options)
{
	return build_dsr_syn(ctx, CLIENT, POD_IP, CLIENT_PORT, POD_PORT, REMOTE_NODE, NODEPORT);
}

CHECK(checksum_checks_ip_options)
{
	test_assert(test_csum_range_ok(ctx, 14, 28));
	test_assert(test_l4_csum_ok_ihl(ctx));
	__u8 x = 0x77;
	bpf_skb_store_bytes(ctx, TEST_PKT_OFF + 40, &x, 1, 0); /* in the option */
	test_assert(!test_csum_range_ok(ctx, 14, 28));
	bpf_skb_store_bytes(ctx, TEST_PKT_OFF + 50, &x, 1, 0); /* in the TCP sequence number */
	test_assert(!test_l4_csum_ok_ihl(ctx));
	return TEST_PASS;
}
