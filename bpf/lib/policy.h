/* policy.h — identity-based L3/L4 policy for endpoints.
 *
 * Contract: the agent computes every local endpoint's policy into hypha_policy, an LPM trie
 * keyed by (endpoint, generation, direction, peer identity, protocol, destination port prefix);
 * identity 0 and protocol 0 are wildcards, so an allow-all or an L4-only rule is one entry, not
 * one per identity. A packet's verdict looks up its peer's identity and the wildcard identity;
 * the longest match of each wins within its lookup and a deny from either wins over any allow
 * (the agent drops allows that a deny of the same lookup covers). The endpoint's active
 * generation lives in its hypha_endpoints entry: the agent writes a new policy under the other
 * generation and then flips the endpoint entry, so an update is atomic (make-before-break).
 * Enforcement per direction (and audit: verdicts counted, nothing dropped) is in the endpoint's
 * flags. Replies of tracked connections never reach this stage.
 */
#ifndef HYPHA_POLICY_H
#define HYPHA_POLICY_H

#include "common.h"
#include "conntrack.h"
#include "counters.h"
#include "drop.h"
#include "endpoint.h"
#include "identity.h"
#include "parse.h"
#include "trace.h"

#ifndef HYPHA_POLICY_SIZE
#define HYPHA_POLICY_SIZE 65536
#endif

struct policy_key {
	__u32 prefixlen;
	__u16 endpoint;  /* endpoint id */
	__u8 generation; /* 0 or 1, see endpoint_info.policy_generation */
	__u8 direction;  /* enum ct_dir: CT_EGRESS, CT_INGRESS */
	__u32 identity;  /* peer identity; 0 = any */
	__u8 protocol;   /* IPPROTO_*; 0 = any */
	__u8 pad;
	__u16 dport; /* network order; ICMP: the type in the high byte */
};

/* Bits of the key always matched: endpoint, generation, direction, identity. */
#define POLICY_PREFIX_FIXED 64
/* ... plus protocol and pad: every port of one protocol. */
#define POLICY_PREFIX_PROTO 80

#define POLICY_F_DENY 0x1
#define POLICY_F_AUDIT 0x2 /* from an audit-mode policy: a deny is reported, not enforced */

struct policy_entry {
	__u32 flags; /* POLICY_F_* */
	__u32 rule;  /* agent-assigned id of the rule that produced the entry (for trace/flows) */
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct policy_key);
	__type(value, struct policy_entry);
	__uint(max_entries, HYPHA_POLICY_SIZE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} hypha_policy SEC(".maps");

enum policy_verdict {
	POLICY_ALLOW = 0,
	POLICY_DENY = 1,
	POLICY_AUDIT = 2, /* would be denied; allowed because of audit mode */
};

/* The port a policy entry matches: the destination port, or the ICMP type. */
__always_inline_hypha __u16 policy_port(const struct hypha_tuple *t)
{
	if (t->proto == IPPROTO_ICMP || t->proto == IPPROTO_ICMPV6)
		return bpf_htons((__u16)t->icmp_type << 8);
	return t->dport;
}

__always_inline_hypha struct policy_entry *policy_lookup(__u16 endpoint, __u8 generation,
							 __u8 direction, __u32 identity,
							 __u8 protocol, __u16 port)
{
	struct policy_key key = {
		.prefixlen = POLICY_PREFIX_PROTO + 16,
		.endpoint = endpoint,
		.generation = generation,
		.direction = direction,
		.identity = identity,
		.protocol = protocol,
		.dport = port,
	};
	return bpf_map_lookup_elem(&hypha_policy, &key);
}

/* The verdict for a packet of `len` bytes between endpoint `ep` and a peer of `identity`;
 * `rule` gets the id of the entry that decided (0: the default). */
__always_inline_hypha int policy_verdict(const struct endpoint_info *ep, __u8 direction,
					 __u32 identity, const struct hypha_tuple *t, __u32 len,
					 __u32 *rule)
{
	*rule = 0;
	__u32 enforce = direction == CT_EGRESS ? ENDPOINT_F_ENFORCE_EGRESS
					       : ENDPOINT_F_ENFORCE_INGRESS;
	__u32 audit = direction == CT_EGRESS ? ENDPOINT_F_AUDIT_EGRESS : ENDPOINT_F_AUDIT_INGRESS;
	if (!(ep->flags & enforce))
		return POLICY_ALLOW;
	/* The node itself always reaches its pods (health checks, kubelet probes). */
	if (direction == CT_INGRESS && identity == IDENTITY_HOST)
		return POLICY_ALLOW;

	__u16 port = policy_port(t);
	__u8 gen = ep->policy_generation;
	struct policy_entry *peer = policy_lookup(ep->id, gen, direction, identity, t->proto, port);
	struct policy_entry *any = policy_lookup(ep->id, gen, direction, 0, t->proto, port);
	struct policy_entry *hit = peer;
	if (!hit || (any && (any->flags & POLICY_F_DENY)))
		hit = any;
	if (hit) {
		*rule = hit->rule;
		__sync_fetch_and_add(&hit->packets, 1);
		__sync_fetch_and_add(&hit->bytes, len);
		if (!(hit->flags & POLICY_F_DENY))
			return POLICY_ALLOW;
		if (hit->flags & POLICY_F_AUDIT)
			return POLICY_AUDIT;
	}
	/* denied by a rule, or by default (no rule allows it) */
	return (ep->flags & audit) ? POLICY_AUDIT : POLICY_DENY;
}

/* Applies the verdict: a deny drops, an audit is counted and passes. Returns 0 to go on. For a
 * `new_conn`ection of an endpoint that enforces the direction, the verdict is reported as a
 * flow event (trace.h). */
__always_inline_hypha int policy_enforce(struct __sk_buff *skb, const struct endpoint_info *ep,
					 __u8 direction, __u32 identity,
					 const struct hypha_tuple *t, int new_conn)
{
	__u32 rule = 0;
	int verdict = policy_verdict(ep, direction, identity, t, skb->len, &rule);
	__u32 enforce = direction == CT_EGRESS ? ENDPOINT_F_ENFORCE_EGRESS
					       : ENDPOINT_F_ENFORCE_INGRESS;
	if (new_conn && (ep->flags & enforce)) {
		__u8 v = verdict == POLICY_DENY ? VERDICT_DROPPED
			 : verdict == POLICY_AUDIT ? VERDICT_AUDIT
						   : VERDICT_FORWARDED;
		int ingress = direction == CT_INGRESS;
		trace_policy(skb, t, v, ingress ? FLOW_F_INGRESS : FLOW_F_EGRESS,
			     ingress ? identity : ep->identity, ingress ? ep->identity : identity,
			     ep->id, rule);
	}
	if (verdict == POLICY_DENY)
		return -DROP_POLICY_DENIED;
	if (verdict == POLICY_AUDIT)
		count_drop(skb->ifindex, direction == CT_EGRESS ? HYPHA_DIR_INGRESS : HYPHA_DIR_EGRESS,
			   DROP_POLICY_AUDIT);
	return 0;
}

#endif /* HYPHA_POLICY_H */
