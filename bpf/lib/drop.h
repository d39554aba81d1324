/* drop.h — drop reasons, defined ONCE here with stable numeric codes.
 *
 * Contract: codes never change meaning once released; new reasons get new codes. They start at
 * 130 so they never collide with TC_ACT_* / XDP_* verdicts.
 *
 * Consumers (keep this list current):
 *   - bpf/lib/counters.h       counts drops per (ifindex, direction, reason)
 *   - bpf/bpf_lxc.c, bpf/bpf_host.c, bpf/bpf_overlay.c, bpf/bpf_lb.c  return them from
 *     forwarding stages (bpf/lib/host.h, lxc.h, overlay.h, lb_stage.h)
 *   - scripts/gen_codecs.ts    generates core/bpf/generated/drop_reasons.ts from this enum's BTF
 *   - core/datapath/host.ts    names reasons in counters, the API and /metrics
 */
#ifndef HYPHA_DROP_H
#define HYPHA_DROP_H

enum hypha_drop_reason {
	DROP_UNKNOWN = 130,        /* a drop without a more specific reason */
	DROP_INVALID_PACKET = 131, /* truncated or malformed headers */
	DROP_UNKNOWN_L3 = 132,     /* neither IPv4 nor IPv6 (and not ARP) */
	DROP_UNSUPPORTED_L4 = 133, /* an L4 protocol the stage cannot handle */
	DROP_POLICY_DENIED = 134,  /* network policy denied the flow */
	DROP_CT_INVALID = 135,     /* conntrack state does not allow the packet */
	DROP_NO_BACKEND = 136,     /* a service without ready backends */
	DROP_FRAG_NOT_FOUND = 137, /* a non-first fragment without its first one */
	DROP_TTL_EXCEEDED = 138,   /* TTL / hop limit reached zero */
	DROP_MAP_FULL = 139,       /* a map needed to forward the packet is full */
	DROP_INVALID_SOURCE = 140, /* a pod sent from an address that is not its own */
	DROP_NAT_NO_PORT = 141,    /* masquerade found no free port for the flow */
	DROP_NO_TUNNEL_ENDPOINT = 142, /* tunnel mode, but no node owns the destination */
	DROP_POLICY_AUDIT = 143,   /* not a drop: policy would deny, passed in audit mode */
	DROP_LB_SOURCE_RANGE = 144, /* a source outside a service's loadBalancerSourceRanges */
	DROP_LB_REJECTED = 145,    /* a service without backends refused the connection (RST/ICMP) */
};

/* Keeps the enum in the object's BTF even when no program references every value. */
const volatile enum hypha_drop_reason hypha_drop_reason_btf_anchor = DROP_UNKNOWN;

#endif /* HYPHA_DROP_H */
