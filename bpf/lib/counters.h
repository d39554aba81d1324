/* counters.h — per-interface packet/byte/drop counters, the device table, and the node's
 * traffic counters (every packet a forwarding stage finished: forwarded, or dropped by reason).
 *
 * Contract: all maps are per-CPU (no atomics on the fast path); user space sums the CPUs. Keys
 * are zero-padded. The agent owns hypha_devices (desired state: which ifindexes to count);
 * the datapath owns the counter maps (user space only reads them).
 */
#ifndef HYPHA_COUNTERS_H
#define HYPHA_COUNTERS_H

#include "common.h"
#include "drop.h"

#ifndef HYPHA_MAX_DEVICES
#define HYPHA_MAX_DEVICES 256
#endif

struct ifcounter_key {
	__u32 ifindex;
	__u8 direction; /* enum hypha_direction */
	__u8 pad[3];
};

struct ifcounter_value {
	__u64 packets;
	__u64 bytes;
	__u64 drops;
};

struct ifdrop_key {
	__u32 ifindex;
	__u8 direction;
	__u8 pad;
	__u16 reason; /* enum hypha_drop_reason */
};

/* Flags of a device the agent manages. */
#define DEVICE_F_COUNT 0x1 /* count packets and bytes */

struct device_info {
	__u32 flags;   /* DEVICE_F_* */
	__u32 mtu;
	__u8 mac[6];
	__u8 pad[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32); /* ifindex */
	__type(value, struct device_info);
	__uint(max_entries, HYPHA_MAX_DEVICES);
} hypha_devices SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, struct ifcounter_key);
	__type(value, struct ifcounter_value);
	__uint(max_entries, HYPHA_MAX_DEVICES * 2);
} hypha_ifcounters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, struct ifdrop_key);
	__type(value, __u64);
	__uint(max_entries, HYPHA_MAX_DEVICES * 2 * 16);
} hypha_ifdrops SEC(".maps");

__always_inline_hypha struct ifcounter_value *counter_slot(__u32 ifindex, __u8 direction)
{
	struct ifcounter_key key = { .ifindex = ifindex, .direction = direction };
	struct ifcounter_value *v = bpf_map_lookup_elem(&hypha_ifcounters, &key);

	if (v)
		return v;
	struct ifcounter_value zero = {};
	bpf_map_update_elem(&hypha_ifcounters, &key, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&hypha_ifcounters, &key);
}

/* Counts a drop by reason on any interface, registered or not (endpoint veths are not in
 * hypha_devices, and a drop must never go uncounted). */
__always_inline_hypha void count_drop(__u32 ifindex, __u8 direction, __u16 reason)
{
	struct ifdrop_key dk = { .ifindex = ifindex, .direction = direction, .reason = reason };
	__u64 *n = bpf_map_lookup_elem(&hypha_ifdrops, &dk);
	if (n) {
		*n += 1;
	} else {
		__u64 one = 1;
		bpf_map_update_elem(&hypha_ifdrops, &dk, &one, BPF_NOEXIST);
	}
}

/* Counts one packet of `len` bytes; `drop_reason` 0 means not dropped. */
__always_inline_hypha void count_packet(__u32 ifindex, __u8 direction, __u32 len,
					__u16 drop_reason)
{
	struct device_info *dev = bpf_map_lookup_elem(&hypha_devices, &ifindex);

	if (!dev || !(dev->flags & DEVICE_F_COUNT))
		return;
	struct ifcounter_value *v = counter_slot(ifindex, direction);
	if (v) {
		v->packets++;
		v->bytes += len;
		if (drop_reason)
			v->drops++;
	}
	if (drop_reason)
		count_drop(ifindex, direction, drop_reason);
}

/* hypha_traffic slot layout: slot = direction * TRAFFIC_SLOTS + (reason ? reason - BASE : 0). */
enum traffic_layout {
	TRAFFIC_SLOTS = 32,        /* per direction; slot 0 counts forwarded packets */
	TRAFFIC_REASON_BASE = 128, /* drop reasons start above it (drop.h) */
};

struct traffic_count {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct traffic_count);
	__uint(max_entries, 2 * TRAFFIC_SLOTS);
} hypha_traffic SEC(".maps");

const volatile enum traffic_layout traffic_layout_btf_anchor = TRAFFIC_SLOTS;

/* Counts a packet a forwarding stage finished at a tc hook of `direction`: forwarded (reason 0)
 * or dropped for `reason`. Reasons past the layout count as DROP_UNKNOWN. */
__always_inline_hypha void count_traffic(__u8 direction, __u16 reason, __u32 len)
{
	__u32 slot = reason > TRAFFIC_REASON_BASE ? reason - TRAFFIC_REASON_BASE : 0;
	if (slot >= TRAFFIC_SLOTS)
		slot = DROP_UNKNOWN - TRAFFIC_REASON_BASE;
	__u32 key = (direction ? TRAFFIC_SLOTS : 0) + slot;
	struct traffic_count *c = bpf_map_lookup_elem(&hypha_traffic, &key);
	if (c) {
		c->packets++;
		c->bytes += len;
	}
}

#endif /* HYPHA_COUNTERS_H */
