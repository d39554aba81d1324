// Test fixture for the core/bpf binding tests: one map of each kind hypha uses and one program per
// attach point. Not part of the datapath.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct fixture_key {
	__u32 id;
	__u16 port;
	__u8 proto;
	__u8 pad;
};

struct fixture_value {
	__u64 packets;
	__u64 bytes;
	__u32 flags;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct fixture_key);
	__type(value, struct fixture_value);
	__uint(max_entries, 200000);
} fixture_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} fixture_percpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096 * 4);
} fixture_events SEC(".maps");

struct fixture_event {
	__u32 len;
	__u32 ifindex;
	__u32 mark;
	__u32 seq;
};

// tc: counts the packet in fixture_percpu[0] and emits one event per packet.
SEC("tc")
int fixture_tc(struct __sk_buff *skb)
{
	__u32 zero = 0;
	__u64 *count = bpf_map_lookup_elem(&fixture_percpu, &zero);
	if (count)
		*count += 1;
	struct fixture_event *ev = bpf_ringbuf_reserve(&fixture_events, sizeof(*ev), 0);
	if (ev) {
		ev->len = skb->len;
		ev->ifindex = skb->ifindex;
		ev->mark = skb->mark;
		ev->seq = count ? (__u32)*count : 0;
		bpf_ringbuf_submit(ev, 0);
	}
	return TC_ACT_OK;
}

SEC("xdp")
int fixture_xdp(struct xdp_md *ctx)
{
	__u32 one = 1;
	__u64 *count = bpf_map_lookup_elem(&fixture_percpu, &one);
	if (count)
		*count += 1;
	return XDP_PASS;
}

SEC("cgroup/connect4")
int fixture_connect4(struct bpf_sock_addr *ctx)
{
	__u32 two = 2;
	__u64 *count = bpf_map_lookup_elem(&fixture_percpu, &two);
	if (count)
		*count += 1;
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
