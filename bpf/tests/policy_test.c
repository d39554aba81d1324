/* Datapath unit tests for policy enforcement (bpf/lib/policy.h) in bpf_lxc.c: default deny,
 * identity/port/range entries, wildcards, deny over allow, replies, generations, audit, ICMP,
 * the node's own traffic. */
#include "lib/mock_helpers.h"
#include "../bpf_lxc.c"
#include "lib/test.h"
#include "lib/pktgen.h"
#include "lib/fixtures.h"

TEST_ENTRIES([0] = (void *)&hypha_lxc_from_container, [1] = (void *)&hypha_lxc_to_container);

#define A_IP 0x0a000110 /* 10.0.1.16: the sender, on the test's veth (ifindex 1) */
#define A_ID 1001
#define A_EP 0x10 /* endpoint id = the MAC tag add_endpoint4 uses */
#define B_IP 0x0a000120 /* 10.0.1.32: a pod on this node */
#define B_ID 1002
#define B_EP 0x20
#define REMOTE_POD 0x0a000207
#define REMOTE_ID 2000

static __always_inline int tcp_to(struct __sk_buff *ctx, __u32 dst, __u16 dport)
{
	struct pktgen p;
	pktgen_init(&p);
	pktgen_ipv4(&p, A_IP, dst, IPPROTO_TCP);
	pktgen_tcp(&p, 40000, dport, TCP_F_SYN);
	return pktgen_finish(ctx, &p);
}

static __always_inline void two_pods(void)
{
	set_config(0);
	add_endpoint4(A_IP, 1, A_ID, A_EP);
	add_endpoint4(B_IP, 42, B_ID, B_EP);
	add_ipcache4(REMOTE_POD, 32, REMOTE_ID, REMOTE_NODE, IPCACHE_F_ENDPOINT);
}

static __always_inline __u64 dropped(__u16 reason)
{
	struct ifdrop_key key = { .ifindex = 1, .direction = HYPHA_DIR_INGRESS, .reason = reason };
	return test_percpu_sum(&hypha_ifdrops, &key, 0);
}

static __always_inline struct ct_entry *egress_ct(__u32 dst, __u16 dport)
{
	struct ct_key k = { .proto = IPPROTO_TCP, .family = 4, .dir = CT_EGRESS };
	k.saddr[0] = bpf_htonl(A_IP);
	k.daddr[0] = bpf_htonl(dst);
	k.sport = bpf_htons(40000);
	k.dport = bpf_htons(dport);
	return bpf_map_lookup_elem(&hypha_ct, &k);
}

static __always_inline __u32 verdict_of(struct __sk_buff *ctx)
{
	__u32 verdict = 0;
	test_verdict(ctx, &verdict);
	return verdict;
}

/* --- An enforced endpoint with no entries denies new connections, and tracks nothing. --- */
PKTGEN(egress_default_deny) { return tcp_to(ctx, REMOTE_POD, 80); }
SETUP(egress_default_deny)
{
	two_pods();
	set_endpoint_policy(A_IP, ENDPOINT_F_ENFORCE_EGRESS, 0);
	return test_tail_call(ctx, 0);
}
CHECK(egress_default_deny)
{
	test_assert(verdict_of(ctx) == TC_ACT_SHOT);
	test_assert(dropped(DROP_POLICY_DENIED) == 1);
	test_assert(egress_ct(REMOTE_POD, 80) == 0);
	return TEST_PASS;
}

/* --- An entry for the peer's identity and port allows, and the connection is tracked. --- */
PKTGEN(egress_identity_port_allowed) { return tcp_to(ctx, REMOTE_POD, 80); }
SETUP(egress_identity_port_allowed)
{
	two_pods();
	set_endpoint_policy(A_IP, ENDPOINT_F_ENFORCE_EGRESS, 0);
	add_policy(A_EP, 0, CT_EGRESS, REMOTE_ID, IPPROTO_TCP, 80, 16, 0);
	return test_tail_call(ctx, 0);
}
CHECK(egress_identity_port_allowed)
{
	test_assert(verdict_of(ctx) == TC_ACT_OK); /* to the stack, towards the other node */
	test_assert(egress_ct(REMOTE_POD, 80) != 0);
	struct policy_key k = { .prefixlen = POLICY_PREFIX_PROTO + 16, .endpoint = A_EP,
				.direction = CT_EGRESS, .identity = REMOTE_ID,
				.protocol = IPPROTO_TCP, .dport = bpf_htons(80) };
	struct policy_entry *e = bpf_map_lookup_elem(&hypha_policy, &k);
	test_assert(e && e->packets == 1);
	return TEST_PASS;
}

/* --- Another port of the same peer is still denied. --- */
PKTGEN(egress_other_port_denied) { return tcp_to(ctx, REMOTE_POD, 81); }
SETUP(egress_other_port_denied)
{
	two_pods();
	set_endpoint_policy(A_IP, ENDPOINT_F_ENFORCE_EGRESS, 0);
	add_policy(A_EP, 0, CT_EGRESS, REMOTE_ID, IPPROTO_TCP, 80, 16, 0);
	return test_tail_call(ctx, 0);
}
CHECK(egress_other_port_denied)
{
	test_assert(verdict_of(ctx) == TC_ACT_SHOT);
	return TEST_PASS;
}

/* --- A port range is a prefix: 8080/15 covers 8080-8081 only. --- */
PKTGEN(port_range_prefix) { return tcp_to(ctx, REMOTE_POD, 8081); }
SETUP(port_range_prefix)
{
	two_pods();
	set_endpoint_policy(A_IP, ENDPOINT_F_ENFORCE_EGRESS, 0);
	add_policy(A_EP, 0, CT_EGRESS, REMOTE_ID, IPPROTO_TCP, 8080, 15, 0);
	return test_tail_call(ctx, 0);
}
CHECK(port_range_prefix)
{
	test_assert(verdict_of(ctx) == TC_ACT_OK);
	return TEST_PASS;
}

/* --- One wildcard entry (any identity, any protocol) allows everything. --- */
PKTGEN(wildcard_allows_all) { return tcp_to(ctx, REMOTE_POD, 9999); }
SETUP(wildcard_allows_all)
{
	two_pods();
	set_endpoint_policy(A_IP, ENDPOINT_F_ENFORCE_EGRESS, 0);
	add_policy(A_EP, 0, CT_EGRESS, 0, 0, 0, -1, 0);
	return test_tail_call(ctx, 0);
}
CHECK(wildcard_allows_all)
{
	test_assert(verdict_of(ctx) == TC_ACT_OK);
	return TEST_PASS;
}

/* --- A deny of the wildcard identity beats an allow of the peer's identity. --- */
PKTGEN(deny_wins) { return tcp_to(ctx, REMOTE_POD, 80); }
SETUP(deny_wins)
{
	two_pods();
	set_endpoint_policy(A_IP, ENDPOINT_F_ENFORCE_EGRESS, 0);
	add_policy(A_EP, 0, CT_EGRESS, REMOTE_ID, 0, 0, -1, 0);
	add_policy(A_EP, 0, CT_EGRESS, 0, IPPROTO_TCP, 80, 16, POLICY_F_DENY);
	return test_tail_call(ctx, 0);
}
CHECK(deny_wins)
{
	test_assert(verdict_of(ctx) == TC_ACT_SHOT);
	test_assert(dropped(DROP_POLICY_DENIED) == 1);
	return TEST_PASS;
}

/* --- Only the active generation counts: entries of the other one are ignored. --- */
PKTGEN(inactive_generation_ignored) { return tcp_to(ctx, REMOTE_POD, 80); }
SETUP(inactive_generation_ignored)
{
	two_pods();
	set_endpoint_policy(A_IP, ENDPOINT_F_ENFORCE_EGRESS, 0);
	add_policy(A_EP, 1, CT_EGRESS, 0, 0, 0, -1, 0);
	return test_tail_call(ctx, 0);
}
CHECK(inactive_generation_ignored)
{
	test_assert(verdict_of(ctx) == TC_ACT_SHOT);
	return TEST_PASS;
}

PKTGEN(active_generation_used) { return tcp_to(ctx, REMOTE_POD, 80); }
SETUP(active_generation_used)
{
	two_pods();
	set_endpoint_policy(A_IP, ENDPOINT_F_ENFORCE_EGRESS, 1);
	add_policy(A_EP, 1, CT_EGRESS, 0, 0, 0, -1, 0);
	return test_tail_call(ctx, 0);
}
CHECK(active_generation_used)
{
	test_assert(verdict_of(ctx) == TC_ACT_OK);
	return TEST_PASS;
}

/* --- A reply to a connection the peer opened passes whatever egress policy says. --- */
PKTGEN(reply_passes)
{
	struct pktgen p;
	pktgen_init(&p);
	pktgen_ipv4(&p, A_IP, REMOTE_POD, IPPROTO_TCP);
	pktgen_tcp(&p, 80, 33000, TCP_F_SYN | TCP_F_ACK);
	return pktgen_finish(ctx, &p);
}
SETUP(reply_passes)
{
	two_pods();
	set_endpoint_policy(A_IP, ENDPOINT_F_ENFORCE_EGRESS, 0);
	struct ct_key k = { .proto = IPPROTO_TCP, .family = 4, .dir = CT_INGRESS };
	k.saddr[0] = bpf_htonl(REMOTE_POD);
	k.daddr[0] = bpf_htonl(A_IP);
	k.sport = bpf_htons(33000);
	k.dport = bpf_htons(80);
	struct ct_entry e = { .expires = MOCK_NOW + 5, .src_identity = REMOTE_ID };
	bpf_map_update_elem(&hypha_ct, &k, &e, BPF_ANY);
	return test_tail_call(ctx, 0);
}
CHECK(reply_passes)
{
	test_assert(verdict_of(ctx) == TC_ACT_OK);
	test_assert(dropped(DROP_POLICY_DENIED) == 0);
	return TEST_PASS;
}

/* --- The destination's ingress policy applies when delivering to a local pod. --- */
PKTGEN(ingress_denied_on_delivery) { return tcp_to(ctx, B_IP, 80); }
SETUP(ingress_denied_on_delivery)
{
	two_pods();
	set_endpoint_policy(B_IP, ENDPOINT_F_ENFORCE_INGRESS, 0);
	add_policy(B_EP, 0, CT_INGRESS, A_ID, IPPROTO_TCP, 443, 16, 0);
	return test_tail_call(ctx, 0);
}
CHECK(ingress_denied_on_delivery)
{
	test_assert(verdict_of(ctx) == TC_ACT_SHOT);
	test_assert(mock()->redirect_kind == 0);
	return TEST_PASS;
}

PKTGEN(ingress_allowed_on_delivery) { return tcp_to(ctx, B_IP, 443); }
SETUP(ingress_allowed_on_delivery)
{
	two_pods();
	set_endpoint_policy(B_IP, ENDPOINT_F_ENFORCE_INGRESS, 0);
	add_policy(B_EP, 0, CT_INGRESS, A_ID, IPPROTO_TCP, 443, 16, 0);
	return test_tail_call(ctx, 0);
}
CHECK(ingress_allowed_on_delivery)
{
	test_assert(verdict_of(ctx) == TC_ACT_REDIRECT);
	test_assert(mock()->redirect_ifindex == 42);
	return TEST_PASS;
}

/* --- Audit mode: a denied flow passes and is counted as an audit. --- */
PKTGEN(audit_passes_and_counts) { return tcp_to(ctx, REMOTE_POD, 80); }
SETUP(audit_passes_and_counts)
{
	two_pods();
	set_endpoint_policy(A_IP, ENDPOINT_F_ENFORCE_EGRESS | ENDPOINT_F_AUDIT_EGRESS, 0);
	return test_tail_call(ctx, 0);
}
CHECK(audit_passes_and_counts)
{
	test_assert(verdict_of(ctx) == TC_ACT_OK);
	test_assert(dropped(DROP_POLICY_AUDIT) == 1);
	test_assert(dropped(DROP_POLICY_DENIED) == 0);
	return TEST_PASS;
}

/* --- ICMP entries match the type: echo requests allowed, nothing else. --- */
PKTGEN(icmp_echo_by_type)
{
	struct pktgen p;
	pktgen_init(&p);
	pktgen_ipv4(&p, A_IP, REMOTE_POD, IPPROTO_ICMP);
	pktgen_icmp_echo(&p, 9, 1);
	return pktgen_finish(ctx, &p);
}
SETUP(icmp_echo_by_type)
{
	two_pods();
	set_endpoint_policy(A_IP, ENDPOINT_F_ENFORCE_EGRESS, 0);
	add_policy(A_EP, 0, CT_EGRESS, REMOTE_ID, IPPROTO_ICMP, 8 << 8, 8, 0);
	return test_tail_call(ctx, 0);
}
CHECK(icmp_echo_by_type)
{
	test_assert(verdict_of(ctx) == TC_ACT_OK);
	return TEST_PASS;
}

/* --- The node reaches its pods whatever their ingress policy (health checks). --- */
PKTGEN(host_reaches_pods)
{
	struct pktgen p;
	pktgen_init(&p);
	pktgen_ipv4(&p, NODE_IP, B_IP, IPPROTO_TCP);
	pktgen_tcp(&p, 50000, 8080, TCP_F_SYN);
	return pktgen_finish(ctx, &p);
}
SETUP(host_reaches_pods)
{
	two_pods();
	add_ipcache4(NODE_IP, 32, IDENTITY_HOST, 0, IPCACHE_F_NODE);
	set_endpoint_policy(B_IP, ENDPOINT_F_ENFORCE_INGRESS, 0);
	return test_tail_call(ctx, 1);
}
CHECK(host_reaches_pods)
{
	test_assert(verdict_of(ctx) == TC_ACT_OK);
	return TEST_PASS;
}
