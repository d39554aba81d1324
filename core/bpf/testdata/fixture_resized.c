// Same map name as fixture.c but another layout: loading it over fixture.c's pins must be refused.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u64);
	__type(value, __u64);
	__uint(max_entries, 1024);
} fixture_hash SEC(".maps");

SEC("tc")
int fixture_resized_tc(struct __sk_buff *skb)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
