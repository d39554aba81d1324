/* lb_fixtures.h — the load balancer's maps (bpf/lib/lb.h) from SETUP and CHECK programs: a
 * config, frontends with their slots, backends and source ranges to write; the flow, reverse,
 * NAT and conntrack entries the datapath writes, to read back or to put in place of an earlier
 * packet; the packets bpf/tests/lb_test.c sends.
 *
 * Contract: include after the entry file (bpf_lb.c), test.h, pktgen.h and fixtures.h. IPv4
 * addresses are host-order words (0x0a000110 = 10.0.1.16), IPv6 addresses four host-order words
 * (most significant first), as pktgen takes them; ports are host order. Everything is stored in
 * network order, as lb.h expects.
 */
#ifndef HYPHA_LB_FIXTURES_H
#define HYPHA_LB_FIXTURES_H

#include "common.h"
#include "lb.h"
#include "test.h"
#include "pktgen.h"
#include "fixtures.h"

/* BPF_PROG_TEST_RUN hands tc programs an skb on the test namespace's loopback (ifindex 1). */
#define TEST_IFINDEX 1

/* An address as map words (network order), of either family. */
struct lb_addr {
	__u32 w[4];
};

static __always_inline struct lb_addr addr4(__u32 ip)
{
	struct lb_addr a = { .w = { bpf_htonl(ip), 0, 0, 0 } };
	return a;
}

static __always_inline struct lb_addr addr6(const __u32 ip[4])
{
	struct lb_addr a = { .w = { bpf_htonl(ip[0]), bpf_htonl(ip[1]), bpf_htonl(ip[2]),
				    bpf_htonl(ip[3]) } };
	return a;
}

static __always_inline int addr_eq(const __u32 *words, struct lb_addr a)
{
	return words[0] == a.w[0] && words[1] == a.w[1] && words[2] == a.w[2] &&
	       words[3] == a.w[3];
}

/* --- What the agent writes. --- */

static __always_inline void lb_enable(__u32 flags, __u32 maglev_m, __u32 seed)
{
	__u32 zero = 0;
	struct lb_config c = { .flags = LB_CFG_F_ENABLED | flags, .maglev_m = maglev_m,
			       .seed = seed };
	bpf_map_update_elem(&hypha_lb_config, &zero, &c, BPF_ANY);
}

static __always_inline void lb_frontend_add(struct lb_addr a, __u8 family, __u16 port, __u8 proto,
					    __u32 id, __u16 count, __u16 flags)
{
	struct lb_frontend_key key = { .port = bpf_htons(port), .proto = proto, .family = family };
	__builtin_memcpy(key.addr, a.w, 16);
	struct lb_frontend fe = { .id = id, .count = count, .flags = flags };
	bpf_map_update_elem(&hypha_lb_frontends, &key, &fe, BPF_ANY);
}

static __always_inline void lb_slot_add(__u32 frontend, __u32 slot, __u32 backend)
{
	struct lb_slot_key key = { .frontend = frontend, .slot = slot };
	bpf_map_update_elem(&hypha_lb_slots, &key, &backend, BPF_ANY);
}

static __always_inline void lb_backend_add(__u32 id, struct lb_addr a, __u8 family, __u16 port,
					   __u8 proto, __u32 flags)
{
	struct lb_backend be = { .port = bpf_htons(port), .proto = proto, .family = family,
				 .flags = flags };
	__builtin_memcpy(be.addr, a.w, 16);
	bpf_map_update_elem(&hypha_lb_backends, &id, &be, BPF_ANY);
}

/* An IPv4 prefix allowed to reach a frontend with LB_FE_SOURCE_RANGES. */
static __always_inline void lb_source_range_add4(__u32 frontend, __u32 prefix, __u32 len)
{
	struct lb_source_range_key key = { .prefixlen = LB_SOURCE_PREFIX_BASE + len,
					   .frontend = frontend, .family = 4 };
	key.addr[0] = bpf_htonl(prefix);
	__u32 one = 1;
	bpf_map_update_elem(&hypha_lb_source_ranges, &key, &one, BPF_ANY);
}

/* The node's IPv6 address, which SNAT to IPv6 backends translates to (set_config leaves it 0). */
static __always_inline void set_node_ipv6(const __u32 ip[4])
{
	struct node_config *cfg = node_config();
	if (cfg) {
		struct lb_addr a = addr6(ip);
		__builtin_memcpy(cfg->node_ipv6, a.w, 16);
	}
}

/* Native routing: the FIB answers with interface FIB_IFINDEX and next-hop MACs ending in 0xdd
 * (destination) and 0x55 (source). */
#define FIB_IFINDEX 3

static __always_inline void mock_fib_success(void)
{
	struct mock_state *m = mock();
	if (m) {
		m->fib_ret = BPF_FIB_LKUP_RET_SUCCESS;
		m->fib_ifindex = FIB_IFINDEX;
		m->fib_dmac[5] = 0xdd;
		m->fib_smac[5] = 0x55;
	}
}

/* --- What the datapath writes: keys of hypha_lb_ct, _lb_rev, _snat and _ct. --- */

static __always_inline struct ct_key tuple_key(struct lb_addr s, struct lb_addr d, __u16 sport,
					       __u16 dport, __u8 proto, __u8 family, __u8 dir)
{
	struct ct_key k = { .sport = bpf_htons(sport), .dport = bpf_htons(dport), .proto = proto,
			    .family = family, .dir = dir };
	__builtin_memcpy(k.saddr, s.w, 16);
	__builtin_memcpy(k.daddr, d.w, 16);
	return k;
}

static __always_inline struct ct_key key4(__u32 s, __u32 d, __u16 sport, __u16 dport, __u8 proto,
					  __u8 dir)
{
	return tuple_key(addr4(s), addr4(d), sport, dport, proto, 4, dir);
}

/* The flow (client -> frontend, as it arrived) and the backend it has. */
static __always_inline struct lb_ct_entry *flow_get4(__u32 client, __u32 fe, __u16 cport,
						     __u16 fport, __u8 proto)
{
	struct ct_key k = key4(client, fe, cport, fport, proto, CT_EGRESS);
	return bpf_map_lookup_elem(&hypha_lb_ct, &k);
}

static __always_inline void flow_put4(__u32 client, __u32 fe, __u16 cport, __u16 fport,
				      __u8 proto, __u32 frontend_id, __u32 backend)
{
	struct ct_key k = key4(client, fe, cport, fport, proto, CT_EGRESS);
	struct lb_ct_entry e = { .expires = MOCK_NOW, .backend = backend, .frontend = frontend_id };
	bpf_map_update_elem(&hypha_lb_ct, &k, &e, BPF_ANY);
}

/* The service address a reply (backend -> client, as the backend sends it) must come from. */
static __always_inline struct lb_rev_entry *rev_get(struct lb_addr be, struct lb_addr client,
						    __u16 bport, __u16 cport, __u8 proto,
						    __u8 family)
{
	struct ct_key k = tuple_key(be, client, bport, cport, proto, family, CT_INGRESS);
	return bpf_map_lookup_elem(&hypha_lb_rev, &k);
}

static __always_inline void rev_put(struct lb_addr be, struct lb_addr client, __u16 bport,
				    __u16 cport, __u8 proto, __u8 family, struct lb_addr fe,
				    __u16 fport)
{
	struct ct_key k = tuple_key(be, client, bport, cport, proto, family, CT_INGRESS);
	struct lb_rev_entry e = { .expires = MOCK_NOW + CT_LIFETIME_TCP * NS_PER_SEC,
				  .port = bpf_htons(fport), .family = family };
	__builtin_memcpy(e.addr, fe.w, 16);
	bpf_map_update_elem(&hypha_lb_rev, &k, &e, BPF_ANY);
}

static __always_inline struct nat_entry *snat_get(struct lb_addr s, struct lb_addr d, __u16 sport,
						  __u16 dport, __u8 proto, __u8 family, __u8 dir)
{
	struct ct_key k = tuple_key(s, d, sport, dport, proto, family, dir);
	return bpf_map_lookup_elem(&hypha_snat, &k);
}

static __always_inline void snat_put4(__u32 s, __u32 d, __u16 sport, __u16 dport, __u8 proto,
				      __u8 dir, __u32 to, __u16 to_port)
{
	struct ct_key k = key4(s, d, sport, dport, proto, dir);
	struct nat_entry e = { .to_port = bpf_htons(to_port), .expires = MOCK_NOW };
	e.to_addr[0] = bpf_htonl(to);
	bpf_map_update_elem(&hypha_snat, &k, &e, BPF_ANY);
}

static __always_inline struct ct_entry *ct_get4(__u32 s, __u32 d, __u16 sport, __u16 dport,
						__u8 proto, __u8 dir)
{
	struct ct_key k = key4(s, d, sport, dport, proto, dir);
	return bpf_map_lookup_elem(&hypha_ct, &k);
}

/* A connection towards a local pod, as deliver_local() leaves it (CT_INGRESS). */
static __always_inline void ct_put4(__u32 s, __u32 d, __u16 sport, __u16 dport, __u8 proto,
				    __u8 dir, __u32 src_identity)
{
	struct ct_key k = key4(s, d, sport, dport, proto, dir);
	struct ct_entry e = { .expires = MOCK_NOW + CT_LIFETIME_SYN * NS_PER_SEC, .tx_packets = 1,
			      .src_identity = src_identity, .tcp_flags = TCP_F_SYN };
	bpf_map_update_elem(&hypha_ct, &k, &e, BPF_ANY);
}

/* Drops counted on the test device's ingress. */
static __always_inline __u64 drops(__u16 reason)
{
	struct ifdrop_key key = { .ifindex = TEST_IFINDEX, .direction = HYPHA_DIR_INGRESS,
				  .reason = reason };
	return test_percpu_sum(&hypha_ifdrops, &key, 0);
}

/* The verdict SETUP returned (~0 when it cannot be read). */
static __always_inline __u32 verdict_of(struct __sk_buff *ctx)
{
	__u32 v = ~0u;
	if (test_verdict(ctx, &v))
		return ~0u;
	return v;
}

/* Whether the 16 bytes at `off` of the checked packet are the address `a` (an IPv6 header's). */
static __always_inline int pkt_addr6_is(struct __sk_buff *ctx, __u32 off, struct lb_addr a)
{
	__u32 w[4] = {};
	if (bpf_skb_load_bytes(ctx, TEST_PKT_OFF + off, w, 16))
		return 0;
	return addr_eq(w, a);
}

/* The checked packet's length (after the verdict). */
static __always_inline __u32 pkt_len(struct __sk_buff *ctx)
{
	return ctx->len - TEST_PKT_OFF;
}

/* --- Packets. --- */

#define TCP_SEQ 0x11223344

/* TCP with 12 bytes of payload (none for a SYN, which must not carry data to be refused). */
static __always_inline int build_tcp4(struct __sk_buff *ctx, __u32 src, __u32 dst, __u16 sport,
				      __u16 dport, __u8 flags)
{
	struct pktgen p;
	pktgen_init(&p);
	pktgen_ipv4(&p, src, dst, IPPROTO_TCP);
	pktgen_tcp(&p, sport, dport, flags);
	((struct tcphdr *)(p.buf + 34))->seq = bpf_htonl(TCP_SEQ);
	if (flags != TCP_F_SYN)
		pktgen_payload(&p, 12);
	return pktgen_finish(ctx, &p);
}

static __always_inline int build_udp4(struct __sk_buff *ctx, __u32 src, __u32 dst, __u16 sport,
				      __u16 dport)
{
	struct pktgen p;
	pktgen_init(&p);
	pktgen_ipv4(&p, src, dst, IPPROTO_UDP);
	pktgen_udp(&p, sport, dport);
	pktgen_payload(&p, 32);
	return pktgen_finish(ctx, &p);
}

static __always_inline int build_l4_6(struct __sk_buff *ctx, const __u32 src[4],
				      const __u32 dst[4], __u8 proto, __u16 sport, __u16 dport)
{
	struct pktgen p;
	pktgen_init(&p);
	pktgen_ipv6(&p, src, dst, proto);
	if (proto == IPPROTO_TCP)
		pktgen_tcp(&p, sport, dport, TCP_F_SYN);
	else
		pktgen_udp(&p, sport, dport);
	if (proto != IPPROTO_TCP)
		pktgen_payload(&p, 16);
	pktgen_set_l4_csum_v6(&p);
	return pktgen_finish(ctx, &p);
}

/* The 8-byte DSR option of lb_dsr.h: type 0x9e, length 8, service port, service address. */
static __always_inline void dsr_option(__u8 *at, __u32 vip, __u16 vport)
{
	at[0] = DSR_OPT_TYPE;
	at[1] = DSR_OPT_LEN;
	*(__u16 *)(at + 2) = bpf_htons(vport);
	*(__u32 *)(at + 4) = bpf_htonl(vip);
}

/* A TCP SYN carrying the DSR option after its IPv4 header (ihl 7), as the balancing node sends
 * it to the backend's node. */
static __always_inline int build_dsr_syn(struct __sk_buff *ctx, __u32 src, __u32 dst,
					 __u16 sport, __u16 dport, __u32 vip, __u16 vport)
{
	struct pktgen p;
	pktgen_init(&p);
	pktgen_ipv4(&p, src, dst, IPPROTO_TCP);
	struct iphdr *ip = (void *)(p.buf + 14);
	ip->ihl = 7;
	dsr_option(p.buf + 34, vip, vport);
	p.l4_off = 42;
	p.len = 42;
	pktgen_tcp(&p, sport, dport, TCP_F_SYN);
	if (pktgen_finish(ctx, &p))
		return -1;
	/* pktgen_finish sums 20 header bytes; the option belongs in the header checksum */
	ip->check = 0;
	ip->check = pktgen_csum((const __u8 *)ip, 28);
	return bpf_skb_store_bytes(ctx, 14 + 10, &ip->check, 2, 0);
}

#endif /* HYPHA_LB_FIXTURES_H */
