/* lb_scene.h — the scene of the load balancer's datapath tests (bpf/tests/lb_*_test.c): the
 * entry programs of bpf_lb.c with mocked helpers, this node, a client outside, pods here and on
 * REMOTE_NODE, a NodePort and its backends, and what earlier packets of a flow left behind.
 * Include it first; each test file is its own object.
 */
#ifndef HYPHA_LB_SCENE_H
#define HYPHA_LB_SCENE_H

#include "mock_helpers.h"
#include "../../bpf_lb.c"
#include "test.h"
#include "pktgen.h"
#include "fixtures.h"
#include "csum.h"
#include "lb_fixtures.h"

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

/* The checks of a request to BE_REMOTE: DNAT to BE_REMOTE and SNAT to the node, both NAT halves,
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

#endif /* HYPHA_LB_SCENE_H */
