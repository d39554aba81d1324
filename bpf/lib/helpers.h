/* helpers.h — the kernel helpers the datapath calls that a unit test needs to observe or fake.
 *
 * Contract: datapath code calls hypha_redirect(), hypha_redirect_peer(), hypha_redirect_neigh(),
 * hypha_fib_lookup(),
 * hypha_set_tunnel_key(), hypha_get_tunnel_key() and hypha_now() instead of the raw helpers.
 * A test #defines any of them before including the entry file (as Cilium's tests do) to record
 * the redirect target, fake a FIB result or a tunnel key, or pin the clock.
 */
#ifndef HYPHA_HELPERS_H
#define HYPHA_HELPERS_H

#include "common.h"

#ifndef hypha_redirect
#define hypha_redirect(ifindex, flags) bpf_redirect(ifindex, flags)
#endif

/* Delivers into the peer of a veth (the pod's side) from tc ingress, skipping the host stack
 * and a second pass through the backlog queue (kernel >= 5.10). */
#ifndef hypha_redirect_peer
#define hypha_redirect_peer(ifindex, flags) bpf_redirect_peer(ifindex, flags)
#endif

/* Redirects to a device's egress, resolving the next hop's MAC (kernel >= 5.10). */
#ifndef hypha_redirect_neigh
#define hypha_redirect_neigh(ifindex) bpf_redirect_neigh(ifindex, NULL, 0, 0)
#endif

#ifndef hypha_fib_lookup
#define hypha_fib_lookup(skb, params, flags) bpf_fib_lookup(skb, params, sizeof(*(params)), flags)
#endif

#ifndef hypha_set_tunnel_key
#define hypha_set_tunnel_key(skb, key, flags) bpf_skb_set_tunnel_key(skb, key, sizeof(*(key)), flags)
#endif

#ifndef hypha_get_tunnel_key
#define hypha_get_tunnel_key(skb, key) bpf_skb_get_tunnel_key(skb, key, sizeof(*(key)), 0)
#endif

/* Nanoseconds since boot, including suspend (CLOCK_BOOTTIME): what the agent compares expiry
 * times with when it garbage-collects conntrack and NAT entries (/proc/uptime). */
#ifndef hypha_now
#define hypha_now() bpf_ktime_get_boot_ns()
#endif

#endif /* HYPHA_HELPERS_H */
