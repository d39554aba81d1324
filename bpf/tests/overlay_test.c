/* Datapath unit tests for bpf_overlay.c: decapsulated delivery with the VNI's identity, and
 * tunnel keys for traffic the host stack routes into the tunnel. */
#include "lib/mock_helpers.h"
#include "../bpf_overlay.c"
#include "lib/test.h"
#include "lib/pktgen.h"
#include "lib/fixtures.h"

TEST_ENTRIES([0] = (void *)&hypha_overlay_ingress, [1] = (void *)&hypha_overlay_egress);

#define POD_IP 0x0a000110    /* 10.0.1.16, on this node */
#define POD_IFINDEX 42
#define REMOTE_POD 0x0a000207 /* 10.0.2.7 */

static __always_inline int build_udp(struct __sk_buff *ctx, __u32 src, __u32 dst)
{
	struct pktgen p;
	pktgen_init(&p);
	pktgen_ipv4(&p, src, dst, IPPROTO_UDP);
	pktgen_udp(&p, 7000, 53);
	pktgen_payload(&p, 8);
	return pktgen_finish(ctx, &p);
}

/* --- From the tunnel: delivered into the pod; the VNI is the sender's identity. --- */
PKTGEN(from_tunnel_delivers)
{
	return build_udp(ctx, REMOTE_POD, POD_IP);
}

SETUP(from_tunnel_delivers)
{
	set_config(CONFIG_F_TUNNEL);
	add_endpoint4(POD_IP, POD_IFINDEX, 1001, 0x10);
	struct mock_state *m = mock();
	if (m) {
		m->key_present = 1;
		m->key_id = 4242;
	}
	return test_tail_call(ctx, 0);
}

CHECK(from_tunnel_delivers)
{
	__u32 verdict = 0;
	test_assert(test_verdict(ctx, &verdict) == 0);
	test_assert(verdict == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_kind == MOCK_REDIRECT_PEER);
	test_assert(mock()->redirect_ifindex == POD_IFINDEX);
	test_assert(pkt_u8(ctx, OFF_DMAC + 5) == 0x10);
	test_assert(pkt_u8(ctx, OFF_TTL) == 63);
	struct ct_key k = { .proto = IPPROTO_UDP, .family = 4, .dir = CT_INGRESS };
	k.saddr[0] = bpf_htonl(REMOTE_POD);
	k.daddr[0] = bpf_htonl(POD_IP);
	k.sport = bpf_htons(7000);
	k.dport = bpf_htons(53);
	struct ct_entry *e = bpf_map_lookup_elem(&hypha_ct, &k);
	test_assert(e && e->src_identity == 4242);
	return TEST_PASS;
}

/* --- From the tunnel, for an address that is no local pod: up the stack. --- */
PKTGEN(from_tunnel_not_local)
{
	return build_udp(ctx, REMOTE_POD, 0x0a000155);
}

SETUP(from_tunnel_not_local)
{
	set_config(CONFIG_F_TUNNEL);
	add_endpoint4(POD_IP, POD_IFINDEX, 1001, 0x10);
	return test_tail_call(ctx, 0);
}

CHECK(from_tunnel_not_local)
{
	__u32 verdict = 0;
	test_assert(test_verdict(ctx, &verdict) == 0);
	test_assert(verdict == TC_ACT_OK);
	test_assert(mock()->redirect_kind == 0);
	return TEST_PASS;
}

/* --- Host traffic into the tunnel gets the owning node and the node's identity. --- */
PKTGEN(to_tunnel_from_host)
{
	return build_udp(ctx, NODE_IP, REMOTE_POD);
}

SETUP(to_tunnel_from_host)
{
	set_config(CONFIG_F_TUNNEL);
	add_ipcache4(NODE_IP, 32, IDENTITY_HOST, 0, IPCACHE_F_NODE);
	add_ipcache4(0x0a000200, 24, IDENTITY_UNMANAGED, REMOTE_NODE, IPCACHE_F_POD_CIDR);
	return test_tail_call(ctx, 1);
}

CHECK(to_tunnel_from_host)
{
	__u32 verdict = 0;
	test_assert(test_verdict(ctx, &verdict) == 0);
	test_assert(verdict == TC_ACT_OK);
	test_assert(mock()->set_key_calls == 1);
	test_assert(mock()->set_key_id == IDENTITY_HOST);
	test_assert(mock()->set_key_remote == REMOTE_NODE);
	return TEST_PASS;
}

/* --- A packet that already has its key (from bpf_lxc.c) is left alone. --- */
PKTGEN(to_tunnel_keeps_key)
{
	return build_udp(ctx, POD_IP, REMOTE_POD);
}

SETUP(to_tunnel_keeps_key)
{
	set_config(CONFIG_F_TUNNEL);
	struct mock_state *m = mock();
	if (m)
		m->key_present = 1;
	return test_tail_call(ctx, 1);
}

CHECK(to_tunnel_keeps_key)
{
	__u32 verdict = 0;
	test_assert(test_verdict(ctx, &verdict) == 0);
	test_assert(verdict == TC_ACT_OK);
	test_assert(mock()->set_key_calls == 0);
	return TEST_PASS;
}

/* --- No node owns the destination: dropped with its reason. --- */
PKTGEN(to_tunnel_unknown_destination)
{
	return build_udp(ctx, NODE_IP, 0x0a000907);
}

SETUP(to_tunnel_unknown_destination)
{
	set_config(CONFIG_F_TUNNEL);
	return test_tail_call(ctx, 1);
}

CHECK(to_tunnel_unknown_destination)
{
	__u32 verdict = 0;
	test_assert(test_verdict(ctx, &verdict) == 0);
	test_assert(verdict == TC_ACT_SHOT);
	struct ifdrop_key key = { .ifindex = 1, .direction = HYPHA_DIR_EGRESS,
				  .reason = DROP_NO_TUNNEL_ENDPOINT };
	test_assert(test_percpu_sum(&hypha_ifdrops, &key, 0) == 1);
	return TEST_PASS;
}
