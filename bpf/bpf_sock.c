/* bpf_sock.c — socket-level load balancing: cgroup hooks on connect(), sendmsg(), recvmsg()
 * and getpeername() of the processes in the node's cgroup subtree (pods and node processes).
 *
 * A socket that connects (or sends a datagram) to a service frontend with LB_FE_SOCKET is
 * pointed at a backend before any packet exists, so east-west traffic needs no per-packet NAT
 * and no conntrack: the socket simply talks to the backend. The service address is remembered
 * per socket (hypha_lb_sock_rev) so recvmsg() and getpeername() show the service, not the
 * backend. A frontend without backends refuses: connect() and sendmsg() fail with
 * ECONNREFUSED. IPv4-mapped IPv6 addresses on dual-stack sockets use the IPv4 frontends.
 * Affinity (ClientIP) follows the client's network namespace, which is the pod.
 * Programs return 1 to let the call proceed, 0 to refuse it (with the error set).
 */
#include "common.h"
#include "lb.h"

#define HYPHA_ECONNREFUSED 111
#define SOCK_ALLOW 1
#define SOCK_REFUSE 0

/* The address of a sock_addr call as map words (IPv4 in word 0). */
struct sock_target {
	__u32 addr[4];
	__u16 port;
	__u8 family;
	__u8 mapped; /* an IPv4-mapped IPv6 address of an IPv6 socket */
};

__always_inline_hypha int is_v4_mapped(const __u32 a[4])
{
	return a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0x0000ffff);
}

__always_inline_hypha void read_target(struct bpf_sock_addr *ctx, __u8 family,
				       struct sock_target *t)
{
	__builtin_memset(t, 0, sizeof(*t));
	t->port = (__u16)ctx->user_port;
	if (family == 4) {
		t->family = 4;
		t->addr[0] = ctx->user_ip4;
		return;
	}
	__u32 a[4] = { ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3] };
	if (is_v4_mapped(a)) {
		t->family = 4;
		t->mapped = 1;
		t->addr[0] = a[3];
		return;
	}
	t->family = 6;
	__builtin_memcpy(t->addr, a, 16);
}

/* Writes an address back in the form of the socket's family (`sock_family` is a constant of
 * the program: an IPv4 program must not touch the IPv6 fields of the context). */
__always_inline_hypha void write_target(struct bpf_sock_addr *ctx, __u8 sock_family,
					const __u32 addr[4], __u16 port, __u8 mapped)
{
	ctx->user_port = port;
	if (sock_family == 4) {
		ctx->user_ip4 = addr[0];
		return;
	}
	if (mapped) {
		ctx->user_ip6[0] = 0;
		ctx->user_ip6[1] = 0;
		ctx->user_ip6[2] = bpf_htonl(0x0000ffff);
		ctx->user_ip6[3] = addr[0];
		return;
	}
	ctx->user_ip6[0] = addr[0];
	ctx->user_ip6[1] = addr[1];
	ctx->user_ip6[2] = addr[2];
	ctx->user_ip6[3] = addr[3];
}

/* connect() and sendmsg(): points the socket at a backend of the frontend it names. */
__always_inline_hypha int sock_forward(struct bpf_sock_addr *ctx, __u8 family)
{
	struct lb_config *cfg = lb_config();
	if (!cfg)
		return SOCK_ALLOW;
	struct sock_target t;
	read_target(ctx, family, &t);
	__u8 proto = ctx->protocol;
	struct lb_frontend *fe = lb_frontend(t.addr, t.port, proto, t.family);
	if (!fe || !(fe->flags & LB_FE_SOCKET))
		return SOCK_ALLOW;

	__u64 now = hypha_now();
	__u32 backend_id = 0;
	struct lb_affinity_key akey = { .frontend = fe->id, .kind = LB_AFFINITY_BY_NETNS };
	if (fe->flags & LB_FE_AFFINITY) {
		__u64 netns = bpf_get_netns_cookie(ctx);
		akey.client[0] = (__u32)netns;
		akey.client[1] = (__u32)(netns >> 32);
		backend_id = lb_affinity_get(&akey, fe, now);
	}
	if (!backend_id) {
		__u32 hash = (fe->flags & LB_FE_MAGLEV)
				     ? lb_final(lb_mix(cfg->seed, (__u32)bpf_get_socket_cookie(ctx)))
				     : bpf_get_prandom_u32();
		backend_id = lb_select(fe, cfg, hash);
	}
	struct lb_backend *be = backend_id ? lb_backend(backend_id) : NULL;
	if (!be || be->family != t.family) {
		bpf_set_retval(-HYPHA_ECONNREFUSED);
		return SOCK_REFUSE;
	}
	if (fe->flags & LB_FE_AFFINITY)
		lb_affinity_put(&akey, backend_id, now);

	struct lb_sock_key rkey = { .cookie = bpf_get_socket_cookie(ctx), .port = be->port,
				    .family = be->family };
	__builtin_memcpy(rkey.addr, be->addr, 16);
	struct lb_sock_rev rev = { .port = t.port, .family = t.family };
	__builtin_memcpy(rev.addr, t.addr, 16);
	bpf_map_update_elem(&hypha_lb_sock_rev, &rkey, &rev, BPF_ANY);

	write_target(ctx, family, be->addr, be->port, t.mapped);
	return SOCK_ALLOW;
}

/* recvmsg() and getpeername(): the backend's address becomes the service's again. */
__always_inline_hypha int sock_reverse(struct bpf_sock_addr *ctx, __u8 family)
{
	struct sock_target t;
	read_target(ctx, family, &t);
	struct lb_sock_key key = { .cookie = bpf_get_socket_cookie(ctx), .port = t.port,
				   .family = t.family };
	__builtin_memcpy(key.addr, t.addr, 16);
	struct lb_sock_rev *rev = bpf_map_lookup_elem(&hypha_lb_sock_rev, &key);
	if (rev && rev->family == t.family)
		write_target(ctx, family, rev->addr, rev->port, t.mapped);
	return SOCK_ALLOW;
}

SEC("cgroup/connect4")
int hypha_sock_connect4(struct bpf_sock_addr *ctx)
{
	return sock_forward(ctx, 4);
}

SEC("cgroup/connect6")
int hypha_sock_connect6(struct bpf_sock_addr *ctx)
{
	return sock_forward(ctx, 6);
}

SEC("cgroup/sendmsg4")
int hypha_sock_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sock_forward(ctx, 4);
}

SEC("cgroup/sendmsg6")
int hypha_sock_sendmsg6(struct bpf_sock_addr *ctx)
{
	return sock_forward(ctx, 6);
}

SEC("cgroup/recvmsg4")
int hypha_sock_recvmsg4(struct bpf_sock_addr *ctx)
{
	return sock_reverse(ctx, 4);
}

SEC("cgroup/recvmsg6")
int hypha_sock_recvmsg6(struct bpf_sock_addr *ctx)
{
	return sock_reverse(ctx, 6);
}

SEC("cgroup/getpeername4")
int hypha_sock_getpeername4(struct bpf_sock_addr *ctx)
{
	return sock_reverse(ctx, 4);
}

SEC("cgroup/getpeername6")
int hypha_sock_getpeername6(struct bpf_sock_addr *ctx)
{
	return sock_reverse(ctx, 6);
}

char LICENSE[] SEC("license") = "GPL";
