/* Datapath unit tests for bpf_host.c forwarding: masquerade at the uplink and its reverse,
 * and delivery of packets for local pods arriving from other nodes. */
#include "lib/mock_helpers.h"
#include "../bpf_host.c"
#include "lib/test.h"
#include "lib/pktgen.h"
#include "lib/fixtures.h"
#include "lib/csum.h"

TEST_ENTRIES([0] = (void *)&hypha_host_ingress, [1] = (void *)&hypha_host_egress);

#define POD_IP 0x0a000110 /* 10.0.1.16 */
#define POD_IFINDEX 42
#define POD_ID 1001
#define WORLD_IP 0xc633640a /* 198.51.100.10 */
#define REMOTE_POD 0x0a000207

static __always_inline int build_tcp(struct __sk_buff *ctx, __u32 src, __u32 dst, __u16 sport,
				     __u16 dport)
{
	struct pktgen p;
	pktgen_init(&p);
	pktgen_ipv4(&p, src, dst, IPPROTO_TCP);
	pktgen_tcp(&p, sport, dport, TCP_F_SYN);
	pktgen_payload(&p, 12);
	return pktgen_finish(ctx, &p);
}

static __always_inline void pod_and_cluster(void)
{
	set_config(CONFIG_F_MASQUERADE);
	add_endpoint4(POD_IP, POD_IFINDEX, POD_ID, 0x10);
	add_ipcache4(0x0a000100, 24, IDENTITY_UNMANAGED, 0, IPCACHE_F_POD_CIDR);
	add_ipcache4(0x0a000200, 24, IDENTITY_UNMANAGED, REMOTE_NODE, IPCACHE_F_POD_CIDR);
}

static __always_inline struct nat_entry *nat_get(__u32 src, __u32 dst, __u16 sport, __u16 dport,
						 __u8 proto, __u8 dir)
{
	struct ct_key k = { .proto = proto, .family = 4, .dir = dir };
	k.saddr[0] = bpf_htonl(src);
	k.daddr[0] = bpf_htonl(dst);
	k.sport = bpf_htons(sport);
	k.dport = bpf_htons(dport);
	return bpf_map_lookup_elem(&hypha_snat, &k);
}

/* Writes a translation: the flow src:sport -> dst:dport seen in direction `dir` becomes
 * to_addr:to_port until `expires`. */
static __always_inline void nat_put(__u32 src, __u32 dst, __u16 sport, __u16 dport, __u8 proto,
				    __u8 dir, __u32 to_addr, __u16 to_port, __u64 expires)
{
	struct ct_key k = { .proto = proto, .family = 4, .dir = dir };
	k.saddr[0] = bpf_htonl(src);
	k.daddr[0] = bpf_htonl(dst);
	k.sport = bpf_htons(sport);
	k.dport = bpf_htons(dport);
	struct nat_entry e = { .to_port = bpf_htons(to_port), .expires = expires };
	e.to_addr[0] = bpf_htonl(to_addr);
	bpf_map_update_elem(&hypha_snat, &k, &e, BPF_ANY);
}

/* --- A pod's connection to the world leaves with the node's address and a NAT port. --- */
PKTGEN(masquerade_to_world)
{
	return build_tcp(ctx, POD_IP, WORLD_IP, 40000, 80);
}

SETUP(masquerade_to_world)
{
	pod_and_cluster();
	return test_tail_call(ctx, 1);
}

CHECK(masquerade_to_world)
{
	__u32 verdict = 0;
	test_assert(test_verdict(ctx, &verdict) == 0);
	test_assert(verdict == TC_ACT_OK);
	test_assert(pkt_u32(ctx, OFF_SADDR) == bpf_htonl(NODE_IP));
	__u16 port = bpf_ntohs(pkt_u16(ctx, OFF_SPORT));
	test_assert(port >= NAT_MIN && port <= NAT_MAX);
	test_assert(pkt_u16(ctx, OFF_DPORT) == bpf_htons(80));
	test_assert(test_ipv4_csum_ok(ctx));
	test_assert(test_l4_csum_ok(ctx));
	struct nat_entry *out = nat_get(POD_IP, WORLD_IP, 40000, 80, IPPROTO_TCP, CT_EGRESS);
	test_assert(out && out->to_addr[0] == bpf_htonl(NODE_IP) && out->to_port == bpf_htons(port));
	struct nat_entry *back = nat_get(WORLD_IP, NODE_IP, 80, port, IPPROTO_TCP, CT_INGRESS);
	test_assert(back && back->to_addr[0] == bpf_htonl(POD_IP));
	test_assert(back->to_port == bpf_htons(40000));
	return TEST_PASS;
}

/* --- Traffic to other pods keeps the pod's address (no masquerade inside the cluster). --- */
PKTGEN(no_masquerade_in_cluster)
{
	return build_tcp(ctx, POD_IP, REMOTE_POD, 40000, 80);
}

SETUP(no_masquerade_in_cluster)
{
	pod_and_cluster();
	return test_tail_call(ctx, 1);
}

CHECK(no_masquerade_in_cluster)
{
	test_assert(pkt_u32(ctx, OFF_SADDR) == bpf_htonl(POD_IP));
	test_assert(pkt_u16(ctx, OFF_SPORT) == bpf_htons(40000));
	test_assert(nat_get(POD_IP, REMOTE_POD, 40000, 80, IPPROTO_TCP, CT_EGRESS) == 0);
	return TEST_PASS;
}

/* --- Nor does traffic to another node's address (its replies come back through pod routes). --- */
PKTGEN(no_masquerade_to_nodes)
{
	return build_tcp(ctx, POD_IP, REMOTE_NODE, 40000, 10250);
}

SETUP(no_masquerade_to_nodes)
{
	pod_and_cluster();
	add_ipcache4(REMOTE_NODE, 32, IDENTITY_REMOTE_NODE, 0, IPCACHE_F_NODE);
	return test_tail_call(ctx, 1);
}

CHECK(no_masquerade_to_nodes)
{
	test_assert(pkt_u32(ctx, OFF_SADDR) == bpf_htonl(POD_IP));
	test_assert(nat_get(POD_IP, REMOTE_NODE, 40000, 10250, IPPROTO_TCP, CT_EGRESS) == 0);
	return TEST_PASS;
}

/* --- The node's own traffic is not translated. --- */
PKTGEN(host_traffic_untouched)
{
	return build_tcp(ctx, NODE_IP, WORLD_IP, 50000, 443);
}

SETUP(host_traffic_untouched)
{
	pod_and_cluster();
	return test_tail_call(ctx, 1);
}

CHECK(host_traffic_untouched)
{
	test_assert(pkt_u32(ctx, OFF_SADDR) == bpf_htonl(NODE_IP));
	test_assert(pkt_u16(ctx, OFF_SPORT) == bpf_htons(50000));
	return TEST_PASS;
}

/* --- The reply is translated back and delivered straight into the pod. --- */
PKTGEN(reverse_nat_delivers)
{
	return build_tcp(ctx, WORLD_IP, NODE_IP, 80, 61005);
}

SETUP(reverse_nat_delivers)
{
	pod_and_cluster();
	nat_put(WORLD_IP, NODE_IP, 80, 61005, IPPROTO_TCP, CT_INGRESS, POD_IP, 40000,
		MOCK_NOW);
	return test_tail_call(ctx, 0);
}

CHECK(reverse_nat_delivers)
{
	__u32 verdict = 0;
	test_assert(test_verdict(ctx, &verdict) == 0);
	test_assert(verdict == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_kind == MOCK_REDIRECT_PEER);
	test_assert(mock()->redirect_ifindex == POD_IFINDEX);
	test_assert(pkt_u32(ctx, OFF_DADDR) == bpf_htonl(POD_IP));
	test_assert(pkt_u16(ctx, OFF_DPORT) == bpf_htons(40000));
	test_assert(pkt_u8(ctx, OFF_DMAC + 5) == 0x10);
	test_assert(test_ipv4_csum_ok(ctx));
	test_assert(test_l4_csum_ok(ctx));
	struct nat_entry *e = nat_get(WORLD_IP, NODE_IP, 80, 61005, IPPROTO_TCP, CT_INGRESS);
	test_assert(e && e->expires > MOCK_NOW); /* refreshed */
	return TEST_PASS;
}

/* --- A packet for the node address without a translation is the node's own. --- */
PKTGEN(unknown_port_goes_to_stack)
{
	return build_tcp(ctx, WORLD_IP, NODE_IP, 80, 22);
}

SETUP(unknown_port_goes_to_stack)
{
	pod_and_cluster();
	return test_tail_call(ctx, 0);
}

CHECK(unknown_port_goes_to_stack)
{
	__u32 verdict = 0;
	test_assert(test_verdict(ctx, &verdict) == 0);
	test_assert(verdict == TC_ACT_OK);
	test_assert(pkt_u32(ctx, OFF_DADDR) == bpf_htonl(NODE_IP));
	test_assert(mock()->redirect_kind == 0);
	return TEST_PASS;
}

/* --- ICMP echo: the id is translated like a port, both ways. --- */
PKTGEN(masquerade_icmp_echo)
{
	struct pktgen p;
	pktgen_init(&p);
	pktgen_ipv4(&p, POD_IP, WORLD_IP, IPPROTO_ICMP);
	pktgen_icmp_echo(&p, 7, 1);
	pktgen_payload(&p, 24);
	return pktgen_finish(ctx, &p);
}

SETUP(masquerade_icmp_echo)
{
	pod_and_cluster();
	return test_tail_call(ctx, 1);
}

CHECK(masquerade_icmp_echo)
{
	test_assert(pkt_u32(ctx, OFF_SADDR) == bpf_htonl(NODE_IP));
	__u16 id = bpf_ntohs(pkt_u16(ctx, OFF_ICMP_ID));
	test_assert(id >= NAT_MIN && id <= NAT_MAX);
	test_assert(test_ipv4_csum_ok(ctx));
	test_assert(test_l4_csum_ok(ctx));
	struct nat_entry *back = nat_get(WORLD_IP, NODE_IP, id, id, IPPROTO_ICMP, CT_INGRESS);
	test_assert(back && back->to_port == bpf_htons(7));
	return TEST_PASS;
}

/* --- A second flow gets its own port: no two flows share a translation. --- */
PKTGEN(masquerade_port_in_use)
{
	return build_tcp(ctx, POD_IP, WORLD_IP, 61000, 80);
}

SETUP(masquerade_port_in_use)
{
	pod_and_cluster();
	/* another pod's flow to the same server already holds port 61000 */
	nat_put(WORLD_IP, NODE_IP, 80, 61000, IPPROTO_TCP, CT_INGRESS, 0x0a000111, 61000,
		MOCK_NOW);
	return test_tail_call(ctx, 1);
}

CHECK(masquerade_port_in_use)
{
	__u16 port = bpf_ntohs(pkt_u16(ctx, OFF_SPORT));
	test_assert(port != 61000 && port >= NAT_MIN && port <= NAT_MAX);
	struct nat_entry *held = nat_get(WORLD_IP, NODE_IP, 80, 61000, IPPROTO_TCP, CT_INGRESS);
	test_assert(held && held->to_addr[0] == bpf_htonl(0x0a000111));
	return TEST_PASS;
}

/* --- Native routing: a remote pod's packet for a local pod is delivered from the uplink. --- */
PKTGEN(native_from_remote_pod)
{
	return build_tcp(ctx, REMOTE_POD, POD_IP, 33000, 8080);
}

SETUP(native_from_remote_pod)
{
	pod_and_cluster();
	add_ipcache4(REMOTE_POD, 32, 3003, REMOTE_NODE, IPCACHE_F_ENDPOINT);
	return test_tail_call(ctx, 0);
}

CHECK(native_from_remote_pod)
{
	__u32 verdict = 0;
	test_assert(test_verdict(ctx, &verdict) == 0);
	test_assert(verdict == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_ifindex == POD_IFINDEX);
	test_assert(pkt_u8(ctx, OFF_TTL) == 63);
	struct ct_key k = { .proto = IPPROTO_TCP, .family = 4, .dir = CT_INGRESS };
	k.saddr[0] = bpf_htonl(REMOTE_POD);
	k.daddr[0] = bpf_htonl(POD_IP);
	k.sport = bpf_htons(33000);
	k.dport = bpf_htons(8080);
	struct ct_entry *e = bpf_map_lookup_elem(&hypha_ct, &k);
	test_assert(e && e->src_identity == 3003);
	return TEST_PASS;
}

/* --- A translation that has expired gives its port to a new flow at once (the agent's garbage
 * collection need not have come by); its outbound half goes with it. --- */
PKTGEN(masquerade_takes_expired_port)
{
	return build_tcp(ctx, POD_IP, WORLD_IP, 61000, 80);
}

SETUP(masquerade_takes_expired_port)
{
	pod_and_cluster();
	nat_put(WORLD_IP, NODE_IP, 80, 61000, IPPROTO_TCP, CT_INGRESS, 0x0a000111, 41000,
		MOCK_NOW - 1);
	nat_put(0x0a000111, WORLD_IP, 41000, 80, IPPROTO_TCP, CT_EGRESS, NODE_IP, 61000,
		MOCK_NOW - 1);
	return test_tail_call(ctx, 1);
}

CHECK(masquerade_takes_expired_port)
{
	test_assert(bpf_ntohs(pkt_u16(ctx, OFF_SPORT)) == 61000);
	struct nat_entry *back = nat_get(WORLD_IP, NODE_IP, 80, 61000, IPPROTO_TCP, CT_INGRESS);
	test_assert(back && back->to_addr[0] == bpf_htonl(POD_IP));
	test_assert(nat_get(0x0a000111, WORLD_IP, 41000, 80, IPPROTO_TCP, CT_EGRESS) == 0);
	return TEST_PASS;
}

/* --- A FIN or RST shortens the translation to the closing lifetime. --- */
PKTGEN(masquerade_fin_shortens)
{
	struct pktgen p;
	pktgen_init(&p);
	pktgen_ipv4(&p, POD_IP, WORLD_IP, IPPROTO_TCP);
	pktgen_tcp(&p, 40000, 80, TCP_F_FIN | TCP_F_ACK);
	return pktgen_finish(ctx, &p);
}

SETUP(masquerade_fin_shortens)
{
	pod_and_cluster();
	nat_put(POD_IP, WORLD_IP, 40000, 80, IPPROTO_TCP, CT_EGRESS, NODE_IP, 61005,
		MOCK_NOW + 21600 * NS_PER_SEC);
	return test_tail_call(ctx, 1);
}

CHECK(masquerade_fin_shortens)
{
	test_assert(bpf_ntohs(pkt_u16(ctx, OFF_SPORT)) == 61005);
	struct nat_entry *e = nat_get(POD_IP, WORLD_IP, 40000, 80, IPPROTO_TCP, CT_EGRESS);
	test_assert(e && e->expires == MOCK_NOW + CT_LIFETIME_CLOSE * NS_PER_SEC);
	return TEST_PASS;
}

/* --- nat.h: a translation made before the port range changed (its port now outside it) still
 * gets its replies until it ends. --- */
PKTGEN(reply_outside_range_translated)
{
	return build_tcp(ctx, WORLD_IP, NODE_IP, 80, 62000);
}

SETUP(reply_outside_range_translated)
{
	pod_and_cluster();
	nat_put(WORLD_IP, NODE_IP, 80, 62000, IPPROTO_TCP, CT_INGRESS, POD_IP, 40000,
		MOCK_NOW + 60 * NS_PER_SEC);
	return test_tail_call(ctx, 0);
}

CHECK(reply_outside_range_translated)
{
	__u32 verdict = 0;
	test_assert(test_verdict(ctx, &verdict) == 0);
	test_assert(verdict == TC_ACT_REDIRECT);
	test_assert(pkt_u32(ctx, OFF_DADDR) == bpf_htonl(POD_IP));
	test_assert(pkt_u16(ctx, OFF_DPORT) == bpf_htons(40000));
	return TEST_PASS;
}
