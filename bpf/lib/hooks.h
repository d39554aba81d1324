/* hooks.h — where a plugin's datapath takes over from core's: the hypha_hooks prog array.
 *
 * Contract: core's entry programs tail-call a slot at one well-defined point (after counting and
 * the config check, before any forwarding decision). An empty slot falls through and core's own
 * stage runs; a plugin (plugins/lb) that fills a slot owns the packet from there, so its program
 * must run the same core stage itself (it includes the stage headers, bpf/lib/host.h, lxc.h,
 * overlay.h, with its own hook points compiled in). Programs in the slots are sched_cls.
 * Consumers: bpf_host.c, bpf_lxc.c, bpf_overlay.c (callers); plugins/lb/datapath.ts (writer).
 */
#ifndef HYPHA_HOOKS_H
#define HYPHA_HOOKS_H

#include "common.h"

enum hypha_hook {
	HOOK_HOST_INGRESS = 0,   /* bpf_host.c tc ingress of the node's devices */
	HOOK_LXC_FROM = 1,       /* bpf_lxc.c from-container */
	HOOK_OVERLAY_INGRESS = 2, /* bpf_overlay.c ingress of the tunnel device */
	HOOK_MAX = 8,
};

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, HOOK_MAX);
	__type(key, __u32);
	__type(value, __u32);
} hypha_hooks SEC(".maps");

/* Keeps the enum in the object's BTF for the code generator. */
const volatile enum hypha_hook hypha_hook_btf_anchor = HOOK_HOST_INGRESS;

/* Hands the packet to the program in `slot`, if any; returns only when the slot is empty. A
 * program built with HYPHA_NO_HOOKS (the plugin's own variants) never calls out again. */
#ifdef HYPHA_NO_HOOKS
#define hook_tail_call(skb, slot) do { } while (0)
#else
#define hook_tail_call(skb, slot) bpf_tail_call(skb, &hypha_hooks, slot)
#endif

#endif /* HYPHA_HOOKS_H */
