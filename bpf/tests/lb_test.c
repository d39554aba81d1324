/* Datapath unit tests for bpf_lb.c, the load balancer's per-packet path: a NodePort balanced to
 * a local backend, to a remote one (SNAT over native routing or the tunnel, DSR), conntrack
 * stickiness, the replies getting their service address back, frontends without backends
 * (TCP RST, ICMP port unreachable, quiet drop), source ranges, Maglev's fallback, IPv6, packets
 * that are no frontend's, and the XDP variant (its SETUPs are XDP programs, which
 * BPF_PROG_TEST_RUN runs as well). Regression cases for fixed bugs sit at the end. */
#include "lib/mock_helpers.h"
#include "../bpf_lb.c"
#include "lib/test.h"
#include "lib/pktgen.h"
#include "lib/fixtures.h"
#include "lib/csum.h"
#include "lib/lb_fixtures.h"

TEST_ENTRIES([0] = (void *)&hypha_lb_host_ingress, [1] = (void *)&hypha_lb_from_container,
	     [2] = (void *)&hypha_lb_overlay_ingress);
#define HOST_INGRESS 0
#define FROM_CONTAINER 1
#define OVERLAY_INGRESS 2

#define CLIENT 0xc6336414   /* 198.51.100.20, in the world */
#define CLIENT_PORT 40000
#define OUTSIDER 0xc0000232 /* 192.0.2.50, outside 198.51.100.0/24 */
#define NODEPORT 30080      /* NODE_IP:30080, TCP and UDP */
#define FE_TCP 10
#define FE_UDP 11
#define FE_V6 12
#define POD_IP 0x0a000110 /* 10.0.1.16, on this node */
#define POD_IFINDEX 42
#define POD_ID 1001
#define POD2_IP 0x0a000120 /* 10.0.1.32, on this node */
#define POD2_IFINDEX 43
#define POD_PORT 8080
#define REMOTE_POD 0x0a000207 /* 10.0.2.7, on REMOTE_NODE */
#define BE_LOCAL 1
#define BE_REMOTE 2
#define BE_LOCAL2 3
#define BE_V6 4
#define NAT_PORT 61003 /* the port SNAT gave the flow of CLIENT to BE_REMOTE */

static const __u32 NODE6[4] = { 0xfd000000, 0, 0, 0x0b };
static const __u32 POD6[4] = { 0xfd000000, 0, 1, 0x10 };
static const __u32 REMOTE_POD6[4] = { 0xfd000000, 0, 2, 0x07 };
static const __u32 CLIENT6[4] = { 0x20010db8, 0, 0, 0x20 };

/* This node (CONFIG_F_* `cfg`), the load balancer (LB_CFG_F_* `lb`) and a NodePort for `proto`
 * whose `count` slots all hold `backend`; backends BE_LOCAL, BE_LOCAL2 (pods here) and
 * BE_REMOTE (a pod on REMOTE_NODE). */
static __always_inline void nodeport(__u32 cfg, __u32 lb, __u8 proto, __u16 fe_flags, __u16 count,
				     __u32 backend)
{
	__u32 id = proto == IPPROTO_TCP ? FE_TCP : FE_UDP;
	set_config(cfg);
	lb_enable(lb, 0, 0);
	lb_frontend_add(addr4(NODE_IP), 4, NODEPORT, proto, id, count, LB_FE_EXTERNAL | fe_flags);
	for (__u32 slot = 1; slot <= count && slot <= 4; slot++)
		lb_slot_add(id, slot, backend);
	lb_backend_add(BE_LOCAL, addr4(POD_IP), 4, POD_PORT, proto, LB_BE_F_LOCAL);
	lb_backend_add(BE_LOCAL2, addr4(POD2_IP), 4, POD_PORT, proto, LB_BE_F_LOCAL);
	lb_backend_add(BE_REMOTE, addr4(REMOTE_POD), 4, POD_PORT, proto, 0);
	add_endpoint4(POD_IP, POD_IFINDEX, POD_ID, 0x10);
	add_endpoint4(POD2_IP, POD2_IFINDEX, POD_ID + 1, 0x20);
	add_ipcache4(0x0a000200, 24, IDENTITY_UNMANAGED, REMOTE_NODE, IPCACHE_F_POD_CIDR);
}

/* An IPv6 NodePort (NODE6:30080/TCP) whose one slot holds BE_V6 at `backend`:8080. */
static __always_inline void nodeport6(__u32 cfg, const __u32 backend[4], __u16 count)
{
	set_config(cfg);
	lb_enable(0, 0, 0);
	lb_frontend_add(addr6(NODE6), 6, NODEPORT, IPPROTO_TCP, FE_V6, count, LB_FE_EXTERNAL);
	lb_slot_add(FE_V6, 1, BE_V6);
	lb_backend_add(BE_V6, addr6(backend), 6, POD_PORT, IPPROTO_TCP, 0);
	add_endpoint6(POD6, POD_IFINDEX, POD_ID, 0x10);
}

/* What CLIENT's flow to BE_REMOTE left behind: both NAT halves and the reverse entry. */
static __always_inline void remote_flow_state(void)
{
	snat_put4(CLIENT, REMOTE_POD, CLIENT_PORT, POD_PORT, IPPROTO_TCP, CT_EGRESS, NODE_IP,
		  NAT_PORT);
	snat_put4(REMOTE_POD, NODE_IP, POD_PORT, NAT_PORT, IPPROTO_TCP, CT_INGRESS, CLIENT,
		  CLIENT_PORT);
	rev_put(addr4(REMOTE_POD), addr4(CLIENT), POD_PORT, CLIENT_PORT, IPPROTO_TCP, 4,
		addr4(NODE_IP), NODEPORT);
}

/* CLIENT's connection delivered into POD_IP, as deliver_local() records it (CT_INGRESS). */
static __always_inline struct ct_entry *client_conn(void)
{
	return ct_get4(CLIENT, POD_IP, CLIENT_PORT, POD_PORT, IPPROTO_TCP, CT_INGRESS);
}

/* What a request of CLIENT delivered into the pod left for the reply: the connection and the
 * frontend `fe`:NODEPORT the reply must come from. The pod sends from this (the test's) veth. */
static __always_inline void delivered_to_pod(__u32 fe)
{
	add_endpoint4(POD_IP, TEST_IFINDEX, POD_ID, 0x10);
	ct_put4(CLIENT, POD_IP, CLIENT_PORT, POD_PORT, IPPROTO_TCP, CT_INGRESS,
		IDENTITY_WORLD_IPV4);
	rev_put(addr4(POD_IP), addr4(CLIENT), POD_PORT, CLIENT_PORT, IPPROTO_TCP, 4, addr4(fe),
		NODEPORT);
	mock_fib_success();
}

static __always_inline int syn_to_nodeport(struct __sk_buff *ctx, __u32 client)
{
	return build_tcp4(ctx, client, NODE_IP, CLIENT_PORT, NODEPORT, TCP_F_SYN);
}

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

/* Shared by the remote-backend checks: DNAT to BE_REMOTE and SNAT to the node, both NAT halves,
 * and the reverse entry keyed by the ORIGINAL client. Returns the NAT port, 0 on a failure. */
static __always_inline __u16 remote_snat_ok(struct __sk_buff *ctx)
{
	__u16 port = bpf_ntohs(pkt_u16(ctx, OFF_SPORT));
	if (port < NAT_MIN || port > NAT_MAX || pkt_u32(ctx, OFF_SADDR) != bpf_htonl(NODE_IP) ||
	    pkt_u32(ctx, OFF_DADDR) != bpf_htonl(REMOTE_POD) ||
	    pkt_u16(ctx, OFF_DPORT) != bpf_htons(POD_PORT) || !test_ipv4_csum_ok(ctx) ||
	    !test_l4_csum_ok(ctx))
		return 0;
	struct nat_entry *out = snat_get(addr4(CLIENT), addr4(REMOTE_POD), CLIENT_PORT, POD_PORT,
					 IPPROTO_TCP, 4, CT_EGRESS);
	if (!out || out->to_addr[0] != bpf_htonl(NODE_IP) || out->to_port != bpf_htons(port))
		return 0;
	struct nat_entry *back = snat_get(addr4(REMOTE_POD), addr4(NODE_IP), POD_PORT, port,
					  IPPROTO_TCP, 4, CT_INGRESS);
	if (!back || back->to_addr[0] != bpf_htonl(CLIENT) ||
	    back->to_port != bpf_htons(CLIENT_PORT))
		return 0;
	struct lb_rev_entry *rev =
		rev_get(addr4(REMOTE_POD), addr4(CLIENT), POD_PORT, CLIENT_PORT, IPPROTO_TCP, 4);
	if (!rev || rev->addr[0] != bpf_htonl(NODE_IP) || rev->port != bpf_htons(NODEPORT))
		return 0;
	struct lb_ct_entry *flow = flow_get4(CLIENT, NODE_IP, CLIENT_PORT, NODEPORT, IPPROTO_TCP);
	if (!flow || flow->backend != BE_REMOTE)
		return 0;
	return port;
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

/* Regressions: each case below failed on an earlier version of bpf/lib. */

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

