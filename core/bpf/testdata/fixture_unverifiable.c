// Compiles, but the verifier must reject it: reads packet data without a bounds check.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int fixture_unchecked_read(struct __sk_buff *skb)
{
	unsigned char *data = (unsigned char *)(long)skb->data;
	return data[20];
}

char LICENSE[] SEC("license") = "GPL";
