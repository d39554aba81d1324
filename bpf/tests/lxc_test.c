/* Datapath unit tests for bpf_lxc.c: source checks, local delivery, cross-node forwarding
 * (tunnel and native), conntrack creation and reply matching. */
#include "lib/mock_helpers.h"
#include "../bpf_lxc.c"
#include "lib/test.h"
#include "lib/pktgen.h"
#include "lib/fixtures.h"
#include "lib/csum.h"

TEST_ENTRIES([0] = (void *)&hypha_lxc_from_container, [1] = (void *)&hypha_lxc_to_container);

/* BPF_PROG_TEST_RUN runs on the loopback device (ifindex 1): pod A's veth in these tests. */
#define A_IP 0x0a000110 /* 10.0.1.16 */
#define A_IFINDEX 1
#define A_ID 1001
#define B_IP 0x0a000120 /* 10.0.1.32, on this node */
#define B_IFINDEX 42
#define B_ID 1002
#define REMOTE_POD 0x0a000207 /* 10.0.2.7, in the other node's pod CIDR */
#define WORLD_IP 0xc6336410   /* 198.51.100.16 */

static __always_inline int build_tcp(struct __sk_buff *ctx, __u32 src, __u32 dst, __u8 flags)
{
	struct pktgen p;
	pktgen_init(&p);
	pktgen_ipv4(&p, src, dst, IPPROTO_TCP);
	pktgen_tcp(&p, 40000, 80, flags);
	pktgen_payload(&p, 8);
	return pktgen_finish(ctx, &p);
}

static __always_inline struct ct_entry *ct_get(__u32 src, __u32 dst, __u16 sport, __u16 dport,
					       __u8 dir)
{
	struct ct_key k = { .proto = IPPROTO_TCP, .family = 4, .dir = dir };
	k.saddr[0] = bpf_htonl(src);
	k.daddr[0] = bpf_htonl(dst);
	k.sport = bpf_htons(sport);
	k.dport = bpf_htons(dport);
	return bpf_map_lookup_elem(&hypha_ct, &k);
}

static __always_inline __u64 drops(__u16 reason)
{
	struct ifdrop_key key = { .ifindex = A_IFINDEX, .direction = HYPHA_DIR_INGRESS,
				  .reason = reason };
	return test_percpu_sum(&hypha_ifdrops, &key, 0);
}

/* --- Until the agent configured the datapath, every packet passes untouched. --- */
PKTGEN(unconfigured_passes)
{
	return build_tcp(ctx, A_IP, B_IP, TCP_F_SYN);
}

SETUP(unconfigured_passes)
{
	add_endpoint4(B_IP, B_IFINDEX, B_ID, 0x20);
	return test_tail_call(ctx, 0);
}

CHECK(unconfigured_passes)
{
	__u32 verdict = 0;
	test_assert(test_verdict(ctx, &verdict) == 0);
	test_assert(verdict == TC_ACT_OK);
	test_assert(mock()->redirect_kind == 0);
	test_assert(pkt_u8(ctx, OFF_TTL) == 64);
	return TEST_PASS;
}

/* --- A pod on this node is reached through bpf_redirect_peer, MACs and TTL rewritten. --- */
PKTGEN(local_delivery)
{
	return build_tcp(ctx, A_IP, B_IP, TCP_F_SYN);
}

SETUP(local_delivery)
{
	set_config(0);
	add_endpoint4(A_IP, A_IFINDEX, A_ID, 0x10);
	add_endpoint4(B_IP, B_IFINDEX, B_ID, 0x20);
	return test_tail_call(ctx, 0);
}

CHECK(local_delivery)
{
	__u32 verdict = 0;
	test_assert(test_verdict(ctx, &verdict) == 0);
	test_assert(verdict == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_kind == MOCK_REDIRECT_PEER);
	test_assert(mock()->redirect_ifindex == B_IFINDEX);
	test_assert(pkt_u8(ctx, OFF_DMAC) == 0x0a && pkt_u8(ctx, OFF_DMAC + 5) == 0x20);
	test_assert(pkt_u8(ctx, OFF_SMAC) == 0x0e && pkt_u8(ctx, OFF_SMAC + 5) == 0x21);
	test_assert(pkt_u8(ctx, OFF_TTL) == 63);
	test_assert(test_ipv4_csum_ok(ctx));
	test_assert(test_l4_csum_ok(ctx));
	struct ct_entry *out = ct_get(A_IP, B_IP, 40000, 80, CT_EGRESS);
	test_assert(out && out->src_identity == A_ID && out->tx_packets == 1);
	test_assert(out->expires == MOCK_NOW + CT_LIFETIME_SYN * NS_PER_SEC);
	struct ct_entry *in = ct_get(A_IP, B_IP, 40000, 80, CT_INGRESS);
	test_assert(in && in->src_identity == A_ID);
	return TEST_PASS;
}

/* --- IPv6 between two local pods takes the same path. --- */
PKTGEN(local_delivery_ipv6)
{
	const __u32 a[4] = { 0xfd000000, 0, 1, 0x10 };
	const __u32 b[4] = { 0xfd000000, 0, 1, 0x20 };
	struct pktgen p;
	pktgen_init(&p);
	pktgen_ipv6(&p, a, b, IPPROTO_UDP);
	pktgen_udp(&p, 5000, 53);
	pktgen_payload(&p, 16);
	return pktgen_finish(ctx, &p);
}

SETUP(local_delivery_ipv6)
{
	const __u32 a[4] = { 0xfd000000, 0, 1, 0x10 };
	const __u32 b[4] = { 0xfd000000, 0, 1, 0x20 };
	set_config(0);
	add_endpoint6(a, A_IFINDEX, A_ID, 0x10);
	add_endpoint6(b, B_IFINDEX, B_ID, 0x20);
	return test_tail_call(ctx, 0);
}

CHECK(local_delivery_ipv6)
{
	__u32 verdict = 0;
	test_assert(test_verdict(ctx, &verdict) == 0);
	test_assert(verdict == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_kind == MOCK_REDIRECT_PEER);
	test_assert(mock()->redirect_ifindex == B_IFINDEX);
	test_assert(pkt_u8(ctx, 14 + 7) == 63); /* hop limit */
	return TEST_PASS;
}

/* --- A source address that is not the sending pod's own is dropped and counted. --- */
PKTGEN(spoofed_source_dropped)
{
	return build_tcp(ctx, 0x0a000199, B_IP, TCP_F_SYN);
}

SETUP(spoofed_source_dropped)
{
	set_config(0);
	add_endpoint4(A_IP, A_IFINDEX, A_ID, 0x10);
	add_endpoint4(B_IP, B_IFINDEX, B_ID, 0x20);
	return test_tail_call(ctx, 0);
}

CHECK(spoofed_source_dropped)
{
	__u32 verdict = 0;
	test_assert(test_verdict(ctx, &verdict) == 0);
	test_assert(verdict == TC_ACT_SHOT);
	test_assert(drops(DROP_INVALID_SOURCE) == 1);
	test_assert(mock()->redirect_kind == 0);
	return TEST_PASS;
}

/* --- Another pod's address sent from this veth is spoofing too. --- */
PKTGEN(source_of_other_veth_dropped)
{
	return build_tcp(ctx, B_IP, A_IP, TCP_F_SYN);
}

SETUP(source_of_other_veth_dropped)
{
	set_config(0);
	add_endpoint4(A_IP, A_IFINDEX, A_ID, 0x10);
	add_endpoint4(B_IP, B_IFINDEX, B_ID, 0x20);
	return test_tail_call(ctx, 0);
}

CHECK(source_of_other_veth_dropped)
{
	__u32 verdict = 0;
	test_assert(test_verdict(ctx, &verdict) == 0);
	test_assert(verdict == TC_ACT_SHOT);
	test_assert(drops(DROP_INVALID_SOURCE) == 1);
	return TEST_PASS;
}

/* --- Tunnel mode: a remote pod is reached through the VXLAN device, VNI = source identity. --- */
PKTGEN(to_tunnel)
{
	return build_tcp(ctx, A_IP, REMOTE_POD, TCP_F_SYN);
}

SETUP(to_tunnel)
{
	set_config(CONFIG_F_TUNNEL);
	add_endpoint4(A_IP, A_IFINDEX, A_ID, 0x10);
	add_ipcache4(0x0a000200, 24, IDENTITY_UNMANAGED, REMOTE_NODE, IPCACHE_F_POD_CIDR);
	return test_tail_call(ctx, 0);
}

CHECK(to_tunnel)
{
	__u32 verdict = 0;
	test_assert(test_verdict(ctx, &verdict) == 0);
	test_assert(verdict == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_kind == MOCK_REDIRECT);
	test_assert(mock()->redirect_ifindex == TUNNEL_IFINDEX);
	test_assert(mock()->set_key_calls == 1);
	test_assert(mock()->set_key_id == A_ID);
	test_assert(mock()->set_key_remote == REMOTE_NODE);
	test_assert(pkt_u32(ctx, OFF_DADDR) == bpf_htonl(REMOTE_POD)); /* inner packet untouched */
	test_assert(ct_get(A_IP, REMOTE_POD, 40000, 80, CT_EGRESS) != 0);
	return TEST_PASS;
}

/* --- Native routing: the FIB's next hop, MACs rewritten, straight to the uplink. --- */
PKTGEN(native_fib_redirect)
{
	return build_tcp(ctx, A_IP, REMOTE_POD, TCP_F_SYN);
}

SETUP(native_fib_redirect)
{
	set_config(CONFIG_F_HOST_ROUTING);
	add_endpoint4(A_IP, A_IFINDEX, A_ID, 0x10);
	add_ipcache4(0x0a000200, 24, IDENTITY_UNMANAGED, REMOTE_NODE, IPCACHE_F_POD_CIDR);
	struct mock_state *m = mock();
	if (m) {
		m->fib_ret = BPF_FIB_LKUP_RET_SUCCESS;
		m->fib_ifindex = 3;
		m->fib_dmac[5] = 0xdd;
		m->fib_smac[5] = 0x55;
	}
	return test_tail_call(ctx, 0);
}

CHECK(native_fib_redirect)
{
	__u32 verdict = 0;
	test_assert(test_verdict(ctx, &verdict) == 0);
	test_assert(verdict == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_kind == MOCK_REDIRECT);
	test_assert(mock()->redirect_ifindex == 3);
	test_assert(pkt_u8(ctx, OFF_DMAC + 5) == 0xdd && pkt_u8(ctx, OFF_SMAC + 5) == 0x55);
	test_assert(pkt_u8(ctx, OFF_TTL) == 63);
	test_assert(test_ipv4_csum_ok(ctx));
	test_assert(mock()->set_key_calls == 0);
	return TEST_PASS;
}

/* --- Native routing without a neighbour entry yet: the host stack resolves it. --- */
PKTGEN(native_no_neighbour_uses_stack)
{
	return build_tcp(ctx, A_IP, REMOTE_POD, TCP_F_SYN);
}

SETUP(native_no_neighbour_uses_stack)
{
	set_config(CONFIG_F_HOST_ROUTING);
	add_endpoint4(A_IP, A_IFINDEX, A_ID, 0x10);
	add_ipcache4(0x0a000200, 24, IDENTITY_UNMANAGED, REMOTE_NODE, IPCACHE_F_POD_CIDR);
	struct mock_state *m = mock();
	if (m)
		m->fib_ret = BPF_FIB_LKUP_RET_NO_NEIGH;
	return test_tail_call(ctx, 0);
}

CHECK(native_no_neighbour_uses_stack)
{
	__u32 verdict = 0;
	test_assert(test_verdict(ctx, &verdict) == 0);
	test_assert(verdict == TC_ACT_OK);
	test_assert(mock()->fib_calls == 1);
	test_assert(pkt_u8(ctx, OFF_TTL) == 64);
	return TEST_PASS;
}

/* --- Without BPF host routing, native routing leaves forwarding to the host stack. --- */
PKTGEN(native_legacy_routing_uses_stack)
{
	return build_tcp(ctx, A_IP, REMOTE_POD, TCP_F_SYN);
}

SETUP(native_legacy_routing_uses_stack)
{
	set_config(0);
	add_endpoint4(A_IP, A_IFINDEX, A_ID, 0x10);
	add_ipcache4(0x0a000200, 24, IDENTITY_UNMANAGED, REMOTE_NODE, IPCACHE_F_POD_CIDR);
	return test_tail_call(ctx, 0);
}

CHECK(native_legacy_routing_uses_stack)
{
	__u32 verdict = 0;
	test_assert(test_verdict(ctx, &verdict) == 0);
	test_assert(verdict == TC_ACT_OK);
	test_assert(mock()->fib_calls == 0);
	test_assert(pkt_u8(ctx, OFF_TTL) == 64);
	return TEST_PASS;
}

/* --- Destinations outside the cluster go to the host stack (masqueraded at the uplink). --- */
PKTGEN(world_goes_to_stack)
{
	return build_tcp(ctx, A_IP, WORLD_IP, TCP_F_SYN);
}

SETUP(world_goes_to_stack)
{
	set_config(CONFIG_F_TUNNEL | CONFIG_F_MASQUERADE);
	add_endpoint4(A_IP, A_IFINDEX, A_ID, 0x10);
	add_ipcache4(0x0a000200, 24, IDENTITY_UNMANAGED, REMOTE_NODE, IPCACHE_F_POD_CIDR);
	return test_tail_call(ctx, 0);
}

CHECK(world_goes_to_stack)
{
	__u32 verdict = 0;
	test_assert(test_verdict(ctx, &verdict) == 0);
	test_assert(verdict == TC_ACT_OK);
	test_assert(mock()->redirect_kind == 0 && mock()->set_key_calls == 0);
	test_assert(pkt_u32(ctx, OFF_SADDR) == bpf_htonl(A_IP));
	struct ct_entry *e = ct_get(A_IP, WORLD_IP, 40000, 80, CT_EGRESS);
	test_assert(e && e->src_identity == A_ID);
	return TEST_PASS;
}

/* --- A reply to a connection the pod opened matches its entry instead of opening one. --- */
PKTGEN(conntrack_reply_matches)
{
	struct pktgen p;
	pktgen_init(&p);
	pktgen_ipv4(&p, REMOTE_POD, A_IP, IPPROTO_TCP);
	pktgen_tcp(&p, 80, 40000, TCP_F_SYN | TCP_F_ACK);
	return pktgen_finish(ctx, &p);
}

SETUP(conntrack_reply_matches)
{
	set_config(0);
	add_endpoint4(A_IP, A_IFINDEX, A_ID, 0x10);
	add_ipcache4(REMOTE_POD, 32, 2000, REMOTE_NODE, IPCACHE_F_ENDPOINT);
	struct ct_key k = { .proto = IPPROTO_TCP, .family = 4, .dir = CT_EGRESS };
	k.saddr[0] = bpf_htonl(A_IP);
	k.daddr[0] = bpf_htonl(REMOTE_POD);
	k.sport = bpf_htons(40000);
	k.dport = bpf_htons(80);
	struct ct_entry e = { .expires = MOCK_NOW + 5, .tx_packets = 1, .src_identity = A_ID };
	bpf_map_update_elem(&hypha_ct, &k, &e, BPF_ANY);
	return test_tail_call(ctx, 1); /* to-container: the host stack delivers the reply */
}

CHECK(conntrack_reply_matches)
{
	__u32 verdict = 0;
	test_assert(test_verdict(ctx, &verdict) == 0);
	test_assert(verdict == TC_ACT_OK);
	struct ct_entry *e = ct_get(A_IP, REMOTE_POD, 40000, 80, CT_EGRESS);
	test_assert(e && e->rx_packets == 1 && e->tx_packets == 1);
	test_assert(e->flags & CT_F_SEEN_REPLY);
	test_assert(e->expires == MOCK_NOW + CT_LIFETIME_TCP * NS_PER_SEC);
	test_assert(ct_get(REMOTE_POD, A_IP, 80, 40000, CT_INGRESS) == 0);
	return TEST_PASS;
}

/* --- A SYN reusing the tuple of a closed connection opens a new one (fresh counts). --- */
PKTGEN(conntrack_syn_reopens_closed)
{
	struct pktgen p;
	pktgen_init(&p);
	pktgen_ipv4(&p, REMOTE_POD, A_IP, IPPROTO_TCP);
	pktgen_tcp(&p, 33001, 8080, TCP_F_SYN);
	return pktgen_finish(ctx, &p);
}

SETUP(conntrack_syn_reopens_closed)
{
	set_config(0);
	add_endpoint4(A_IP, A_IFINDEX, A_ID, 0x10);
	add_ipcache4(REMOTE_POD, 32, 2000, REMOTE_NODE, IPCACHE_F_ENDPOINT);
	struct ct_key k = { .proto = IPPROTO_TCP, .family = 4, .dir = CT_INGRESS };
	k.saddr[0] = bpf_htonl(REMOTE_POD);
	k.daddr[0] = bpf_htonl(A_IP);
	k.sport = bpf_htons(33001);
	k.dport = bpf_htons(8080);
	struct ct_entry e = { .expires = MOCK_NOW + 5, .tx_packets = 7, .rx_packets = 6,
			      .src_identity = 1999, .flags = CT_F_CLOSING | CT_F_SEEN_REPLY };
	bpf_map_update_elem(&hypha_ct, &k, &e, BPF_ANY);
	return test_tail_call(ctx, 1);
}

CHECK(conntrack_syn_reopens_closed)
{
	struct ct_entry *e = ct_get(REMOTE_POD, A_IP, 33001, 8080, CT_INGRESS);
	test_assert(e && e->src_identity == 2000 && e->tx_packets == 1 && e->rx_packets == 0);
	test_assert(!(e->flags & (CT_F_CLOSING | CT_F_SEEN_REPLY)));
	return TEST_PASS;
}

/* --- A new connection towards the pod gets an ingress entry with the sender's identity. --- */
PKTGEN(conntrack_new_ingress)
{
	struct pktgen p;
	pktgen_init(&p);
	pktgen_ipv4(&p, REMOTE_POD, A_IP, IPPROTO_TCP);
	pktgen_tcp(&p, 33000, 8080, TCP_F_SYN);
	return pktgen_finish(ctx, &p);
}

SETUP(conntrack_new_ingress)
{
	set_config(0);
	add_endpoint4(A_IP, A_IFINDEX, A_ID, 0x10);
	add_ipcache4(REMOTE_POD, 32, 2000, REMOTE_NODE, IPCACHE_F_ENDPOINT);
	return test_tail_call(ctx, 1);
}

CHECK(conntrack_new_ingress)
{
	struct ct_entry *e = ct_get(REMOTE_POD, A_IP, 33000, 8080, CT_INGRESS);
	test_assert(e && e->src_identity == 2000 && e->tx_packets == 1);
	test_assert(!(e->flags & CT_F_SEEN_REPLY));
	return TEST_PASS;
}
