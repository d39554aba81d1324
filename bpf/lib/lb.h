/* lb.h — service load balancing: the maps plugins/lb writes and the backend selection the
 * socket hooks (bpf_sock.c) and the per-packet path (lb_stage.h, bpf_lb.c) share.
 *
 * Contract: the agent (plugins/lb) owns hypha_lb_config, _frontends, _slots, _backends,
 * _source_ranges and _maglev (desired state); the datapath owns _ct, _rev, _sock_rev and
 * _affinity (the agent only reads and garbage-collects them).
 * - A frontend is one (address, port, protocol) a service answers on: a ClusterIP, a node address
 *   with a NodePort or HostPort, a LoadBalancer IP, an external IP. Its `count` backends sit in
 *   hypha_lb_slots under slots 1..count (slot 0 is never used); count 0 means: no backend, the
 *   connection is refused (or dropped with LB_FE_DROP_EMPTY).
 * - Backends are shared by every frontend that uses them, by id (never 0). A terminating backend
 *   stays in hypha_lb_backends (its connections live on) but leaves the slots.
 * - Maglev frontends have an inner array of hypha_lb_config.maglev_m backend ids in
 *   hypha_lb_maglev, indexed by a hash of the flow; every node builds the same table.
 * Addresses in network order (IPv4 in addr[0]), ports in network order.
 */
#ifndef HYPHA_LB_H
#define HYPHA_LB_H

#include "common.h"
#include "conntrack.h"
#include "helpers.h"
#include "parse.h"

#ifndef HYPHA_LB_FRONTENDS
#define HYPHA_LB_FRONTENDS 131072
#endif
#ifndef HYPHA_LB_SLOTS
#define HYPHA_LB_SLOTS 262144
#endif
#ifndef HYPHA_LB_BACKENDS
#define HYPHA_LB_BACKENDS 262144
#endif
#ifndef HYPHA_LB_CT
#define HYPHA_LB_CT 131072
#endif
#ifndef HYPHA_LB_AFFINITY
#define HYPHA_LB_AFFINITY 65536
#endif
#ifndef HYPHA_LB_MAGLEV_FRONTENDS
#define HYPHA_LB_MAGLEV_FRONTENDS 1024
#endif
#ifndef HYPHA_LB_MAGLEV_M
#define HYPHA_LB_MAGLEV_M 16381 /* the inner map template; tables of other prime sizes fit too */
#endif

/* Flags of hypha_lb_config, frontends and backends: enums, so the agent's constants are
 * generated from the object's BTF (plugins/lb/generated/lb.ts). */
enum lb_config_flag {
	LB_CFG_F_ENABLED = 0x1, /* the plugin runs: frontends are served */
	LB_CFG_F_DSR = 0x2,     /* remote backends answer clients directly (IPv4), see lb_dsr.h */
};

struct lb_config {
	__u32 flags;     /* LB_CFG_F_* */
	__u32 maglev_m;  /* entries of every Maglev table (prime) */
	__u32 seed;      /* cluster-wide hash seed: every node picks the same backend for a flow */
	__u32 pad;
};

struct lb_frontend_key {
	__u32 addr[4];
	__u16 port;
	__u8 proto;
	__u8 family; /* 4 or 6 */
};

enum lb_frontend_flag {
	LB_FE_EXTERNAL = 0x1,      /* balanced per packet where it arrives from the network */
	LB_FE_SOCKET = 0x2,        /* balanced at connect()/sendmsg() by the socket hooks */
	LB_FE_LOCAL = 0x4,         /* traffic policy Local: slots hold this node's backends only */
	LB_FE_AFFINITY = 0x8,      /* sessionAffinity ClientIP */
	LB_FE_MAGLEV = 0x10,       /* select through the frontend's Maglev table */
	LB_FE_SOURCE_RANGES = 0x20, /* only sources in hypha_lb_source_ranges may connect */
	LB_FE_DROP_EMPTY = 0x40,   /* no slots but backends elsewhere: drop quietly, not refuse */
};

struct lb_frontend {
	__u32 id;               /* never 0 */
	__u16 count;            /* slots in use */
	__u16 flags;            /* LB_FE_* */
	__u32 affinity_timeout; /* seconds */
	__u32 pad;
};

struct lb_slot_key {
	__u32 frontend;
	__u32 slot; /* 1..count */
};

enum lb_backend_flag {
	LB_BE_F_TERMINATING = 0x1, /* kept for its connections, never picked for new ones */
	LB_BE_F_LOCAL = 0x2,       /* a pod on this node */
};

struct lb_backend {
	__u32 addr[4];
	__u16 port;
	__u8 proto;
	__u8 family;
	__u32 flags; /* LB_BE_F_* */
	__u32 pad;
};

struct lb_source_range_key {
	__u32 prefixlen; /* 32 (frontend) + 32 (family, pad) + address prefix */
	__u32 frontend;
	__u8 family;
	__u8 pad[3];
	__u32 addr[4];
};
#define LB_SOURCE_PREFIX_BASE 64

/* A flow the per-packet path translated: its backend, as long as the backend exists. */
struct lb_ct_entry {
	__u64 expires; /* CLOCK_BOOTTIME ns */
	__u32 backend;
	__u32 frontend;
	__u64 pad;
};

/* The service address a reply must come from: keyed by the reply's tuple as the backend sends
 * it (ct_key, CT_INGRESS). */
struct lb_rev_entry {
	__u64 expires;
	__u32 addr[4];
	__u16 port;
	__u8 family;
	__u8 pad;
	__u32 pad2;
};

/* Socket-level reverse translation: the backend a socket was connected (or sent) to. */
struct lb_sock_key {
	__u64 cookie; /* bpf_get_socket_cookie() */
	__u32 addr[4];
	__u16 port;
	__u8 family;
	__u8 pad;
	__u32 pad2;
};

struct lb_sock_rev {
	__u32 addr[4];
	__u16 port;
	__u8 family;
	__u8 pad;
};

#define LB_AFFINITY_BY_ADDR 0  /* per-packet: the client address */
#define LB_AFFINITY_BY_NETNS 1 /* sockets: the client's network namespace (cookie in client[0..1]) */

struct lb_affinity_key {
	__u32 client[4];
	__u32 frontend;
	__u8 kind; /* LB_AFFINITY_BY_* */
	__u8 pad[3];
};

struct lb_affinity {
	__u64 last_used; /* CLOCK_BOOTTIME ns */
	__u32 backend;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_config);
	__uint(max_entries, 1);
} hypha_lb_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct lb_frontend_key);
	__type(value, struct lb_frontend);
	__uint(max_entries, HYPHA_LB_FRONTENDS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} hypha_lb_frontends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct lb_slot_key);
	__type(value, __u32);
	__uint(max_entries, HYPHA_LB_SLOTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} hypha_lb_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct lb_backend);
	__uint(max_entries, HYPHA_LB_BACKENDS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} hypha_lb_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct lb_source_range_key);
	__type(value, __u32);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} hypha_lb_source_ranges SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct ct_key);
	__type(value, struct lb_ct_entry);
	__uint(max_entries, HYPHA_LB_CT);
} hypha_lb_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct ct_key);
	__type(value, struct lb_rev_entry);
	__uint(max_entries, HYPHA_LB_CT);
} hypha_lb_rev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct lb_sock_key);
	__type(value, struct lb_sock_rev);
	__uint(max_entries, HYPHA_LB_CT);
} hypha_lb_sock_rev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct lb_affinity_key);
	__type(value, struct lb_affinity);
	__uint(max_entries, HYPHA_LB_AFFINITY);
} hypha_lb_affinity SEC(".maps");

struct lb_maglev_table {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_INNER_MAP); /* tables of any size fit the outer map */
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, HYPHA_LB_MAGLEV_M);
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__type(key, __u32); /* frontend id */
	__uint(max_entries, HYPHA_LB_MAGLEV_FRONTENDS);
	__array(values, struct lb_maglev_table);
} hypha_lb_maglev SEC(".maps");

/* Keep the flag enums in the object's BTF for the code generator. */
const volatile enum lb_config_flag lb_config_flag_btf_anchor = LB_CFG_F_ENABLED;
const volatile enum lb_frontend_flag lb_frontend_flag_btf_anchor = LB_FE_EXTERNAL;
const volatile enum lb_backend_flag lb_backend_flag_btf_anchor = LB_BE_F_TERMINATING;

__always_inline_hypha struct lb_config *lb_config(void)
{
	__u32 zero = 0;
	struct lb_config *c = bpf_map_lookup_elem(&hypha_lb_config, &zero);
	return c && (c->flags & LB_CFG_F_ENABLED) ? c : NULL;
}

__always_inline_hypha struct lb_frontend *lb_frontend(const __u32 addr[4], __u16 port, __u8 proto,
						       __u8 family)
{
	struct lb_frontend_key key = { .port = port, .proto = proto, .family = family };
	key.addr[0] = addr[0];
	key.addr[1] = addr[1];
	key.addr[2] = addr[2];
	key.addr[3] = addr[3];
	return bpf_map_lookup_elem(&hypha_lb_frontends, &key);
}

/* 32-bit mixing (a murmur3-style finalizer): every input bit affects every output bit. */
__always_inline_hypha __u32 lb_mix(__u32 h, __u32 v)
{
	h ^= v * 0xcc9e2d51;
	h = (h << 13) | (h >> 19);
	h = h * 5 + 0xe6546b64;
	return h;
}

__always_inline_hypha __u32 lb_final(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

/* The hash of a flow (client to frontend): the same on every node for the same seed. */
__always_inline_hypha __u32 lb_flow_hash(const struct hypha_tuple *t, __u32 seed)
{
	__u32 h = seed;
	h = lb_mix(h, t->saddr[0]);
	h = lb_mix(h, t->saddr[1]);
	h = lb_mix(h, t->saddr[2]);
	h = lb_mix(h, t->saddr[3]);
	h = lb_mix(h, t->daddr[0]);
	h = lb_mix(h, t->daddr[1]);
	h = lb_mix(h, t->daddr[2]);
	h = lb_mix(h, t->daddr[3]);
	h = lb_mix(h, ((__u32)t->sport << 16) | t->dport);
	h = lb_mix(h, t->proto);
	return lb_final(h);
}

/* Picks a backend id for a new flow: through the Maglev table, or uniformly at random among
 * the slots. `hash` identifies the flow. Returns 0 when there is none. */
__always_inline_hypha __u32 lb_select(const struct lb_frontend *fe, const struct lb_config *cfg,
				      __u32 hash)
{
	if (!fe->count)
		return 0;
	if ((fe->flags & LB_FE_MAGLEV) && cfg->maglev_m) {
		__u32 id = fe->id;
		void *table = bpf_map_lookup_elem(&hypha_lb_maglev, &id);
		if (table) {
			__u32 index = hash % cfg->maglev_m;
			__u32 *backend = bpf_map_lookup_elem(table, &index);
			if (backend && *backend)
				return *backend;
		}
	}
	struct lb_slot_key slot = { .frontend = fe->id, .slot = hash % fe->count + 1 };
	__u32 *backend = bpf_map_lookup_elem(&hypha_lb_slots, &slot);
	return backend ? *backend : 0;
}

__always_inline_hypha struct lb_backend *lb_backend(__u32 id)
{
	return bpf_map_lookup_elem(&hypha_lb_backends, &id);
}

/* The backend a client stuck to, while the affinity is fresh and the backend is not
 * terminating; 0 otherwise. */
__always_inline_hypha __u32 lb_affinity_get(const struct lb_affinity_key *key,
					    const struct lb_frontend *fe, __u64 now)
{
	struct lb_affinity *a = bpf_map_lookup_elem(&hypha_lb_affinity, key);
	if (!a || now - a->last_used > (__u64)fe->affinity_timeout * NS_PER_SEC)
		return 0;
	struct lb_backend *be = lb_backend(a->backend);
	if (!be || (be->flags & LB_BE_F_TERMINATING))
		return 0;
	return a->backend;
}

__always_inline_hypha void lb_affinity_put(const struct lb_affinity_key *key, __u32 backend,
					   __u64 now)
{
	struct lb_affinity a = { .last_used = now, .backend = backend };
	bpf_map_update_elem(&hypha_lb_affinity, key, &a, BPF_ANY);
}

/* Whether `addr` may reach a frontend with LB_FE_SOURCE_RANGES. */
__always_inline_hypha int lb_source_allowed(const struct lb_frontend *fe, const __u32 addr[4],
					    __u8 family)
{
	if (!(fe->flags & LB_FE_SOURCE_RANGES))
		return 1;
	struct lb_source_range_key key = {
		.prefixlen = LB_SOURCE_PREFIX_BASE + (family == 4 ? 32 : 128),
		.frontend = fe->id,
		.family = family,
	};
	key.addr[0] = addr[0];
	key.addr[1] = addr[1];
	key.addr[2] = addr[2];
	key.addr[3] = addr[3];
	return bpf_map_lookup_elem(&hypha_lb_source_ranges, &key) != NULL;
}

#endif /* HYPHA_LB_H */
