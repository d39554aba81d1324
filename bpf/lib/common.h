/* common.h — base types, section macros and helper declarations for every hypha BPF program.
 *
 * Contract: include this first. It pulls in the UAPI headers of the build host (linux-libc-dev)
 * and libbpf's helper definitions. Every struct shared with user space lives in a bpf/lib header
 * so the code generator (scripts/gen_codecs.ts) sees it in the object's BTF.
 */
#ifndef HYPHA_COMMON_H
#define HYPHA_COMMON_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/in6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define __always_inline_hypha static __always_inline

/* Directions as stored in map keys. */
enum hypha_direction {
	HYPHA_DIR_INGRESS = 0,
	HYPHA_DIR_EGRESS = 1,
};

/* A stage that does not own the packet returns STAGE_NEXT to hand it to the next stage (a value
 * no TC verdict and no -DROP_* reason takes). */
#define STAGE_NEXT 0x7ffffff0

#endif /* HYPHA_COMMON_H */
