/* mock_helpers.h — fakes for the kernel helpers of bpf/lib/helpers.h, for datapath tests.
 *
 * Contract: include this BEFORE the entry file under test. Redirects are recorded instead of
 * performed (the program still returns TC_ACT_REDIRECT), the tunnel key and the FIB answer come
 * from test_mock, and the clock stands at MOCK_NOW. SETUP fills test_mock; CHECK reads it.
 */
#ifndef HYPHA_MOCK_HELPERS_H
#define HYPHA_MOCK_HELPERS_H

#include "common.h"

#define MOCK_NOW 1000000000000ULL /* 1000 s after boot */

#define MOCK_REDIRECT 1
#define MOCK_REDIRECT_PEER 2
#define MOCK_REDIRECT_NEIGH 3

struct mock_state {
	/* recorded */
	__u32 redirect_kind; /* MOCK_REDIRECT* */
	__u32 redirect_ifindex;
	__u32 set_key_calls;
	__u32 set_key_id;
	__u32 set_key_remote; /* host order, as the helper takes it */
	__u32 fib_calls;
	/* answers */
	__u32 key_present; /* get_tunnel_key succeeds with key_id */
	__u32 key_id;
	__s32 fib_ret;
	__u32 fib_ifindex;
	__u8 fib_smac[6];
	__u8 fib_dmac[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mock_state);
} test_mock SEC(".maps");

static __always_inline struct mock_state *mock(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&test_mock, &zero);
}

static __always_inline long mock_redirect(__u32 ifindex, __u32 kind)
{
	struct mock_state *m = mock();
	if (m) {
		m->redirect_kind = kind;
		m->redirect_ifindex = ifindex;
	}
	return TC_ACT_REDIRECT;
}

static __always_inline long mock_set_tunnel_key(const struct bpf_tunnel_key *key)
{
	struct mock_state *m = mock();
	if (m) {
		m->set_key_calls++;
		m->set_key_id = key->tunnel_id;
		m->set_key_remote = key->remote_ipv4;
	}
	return 0;
}

static __always_inline long mock_get_tunnel_key(struct bpf_tunnel_key *key)
{
	struct mock_state *m = mock();
	if (!m || !m->key_present)
		return -22; /* -EINVAL: no tunnel metadata */
	key->tunnel_id = m->key_id;
	return 0;
}

static __always_inline long mock_fib_lookup(struct bpf_fib_lookup *params)
{
	struct mock_state *m = mock();
	if (!m)
		return -1;
	m->fib_calls++;
	if (m->fib_ret == BPF_FIB_LKUP_RET_SUCCESS) {
		params->ifindex = m->fib_ifindex;
		__builtin_memcpy(params->smac, m->fib_smac, 6);
		__builtin_memcpy(params->dmac, m->fib_dmac, 6);
	}
	return m->fib_ret;
}

#define hypha_redirect(ifindex, flags) mock_redirect(ifindex, MOCK_REDIRECT)
#define hypha_redirect_peer(ifindex, flags) mock_redirect(ifindex, MOCK_REDIRECT_PEER)
#define hypha_redirect_neigh(ifindex) mock_redirect(ifindex, MOCK_REDIRECT_NEIGH)
#define hypha_set_tunnel_key(skb, key, flags) mock_set_tunnel_key(key)
#define hypha_get_tunnel_key(skb, key) mock_get_tunnel_key(key)
#define hypha_fib_lookup(skb, params, flags) mock_fib_lookup(params)
#define hypha_now() MOCK_NOW

#endif /* HYPHA_MOCK_HELPERS_H */
