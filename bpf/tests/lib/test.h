/* test.h — datapath unit tests in C, run through BPF_PROG_TEST_RUN by bpf/tests/datapath_test.ts.
 *
 * Contract: a test file #includes the entry file under test, then defines per test NAME:
 *   PKTGEN(NAME)  builds the input packet into the (initially 64-byte) skb; returns 0.
 *   SETUP(NAME)   fills maps, then hands the packet to the entry program with
 *                 test_tail_call(ctx, slot) through the test_entries prog array (declare it with
 *                 TEST_ENTRIES(...)); its return value is the verdict under test. Optional: a
 *                 test without SETUP runs CHECK on the PKTGEN packet with verdict 0.
 *   CHECK(NAME)   receives [__u32 verdict][packet after SETUP] and returns TEST_PASS, or
 *                 TEST_FAIL after recording why with test_assert(...).
 * The runner clears every map except test_entries before each test, and runs the three programs
 * in this order. Programs are found by name prefix (pktgen__, setup__, check__).
 */
#ifndef HYPHA_TEST_H
#define HYPHA_TEST_H

#include "common.h"

#define TEST_PASS 0
#define TEST_FAIL 1

#define PKTGEN(name) SEC("tc") int pktgen__##name(struct __sk_buff *ctx)
#define SETUP(name) SEC("tc") int setup__##name(struct __sk_buff *ctx)
#define CHECK(name) SEC("tc") int check__##name(struct __sk_buff *ctx)

/* The prog array SETUP tail-calls through: TEST_ENTRIES(&prog0, &prog1, ...). */
#define TEST_ENTRIES(...)                                                                  \
	struct {                                                                           \
		__uint(type, BPF_MAP_TYPE_PROG_ARRAY);                                     \
		__uint(max_entries, 8);                                                    \
		__type(key, __u32);                                                        \
		__array(values, int(struct __sk_buff *));                                  \
	} test_entries SEC(".maps") = { .values = { __VA_ARGS__ } }

/* Tail-calls entry `slot`; returns TC_ACT_SHOT only if the tail call itself failed. */
#define test_tail_call(ctx, slot)                                                          \
	({                                                                                 \
		bpf_tail_call(ctx, &test_entries, slot);                                   \
		TC_ACT_SHOT;                                                               \
	})

#define TEST_MESSAGE_LEN 120

struct test_message {
	__u32 line;
	__u32 failed;
	char text[TEST_MESSAGE_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct test_message);
} test_messages SEC(".maps");

/* Fails the check, recording the line and the failed condition for the runner to print. */
#define test_assert(cond)                                                                  \
	do {                                                                               \
		if (!(cond)) {                                                             \
			__u32 __zero = 0;                                                  \
			struct test_message *__m =                                         \
				bpf_map_lookup_elem(&test_messages, &__zero);              \
			if (__m) {                                                         \
				__m->line = __LINE__;                                      \
				__m->failed = 1;                                           \
				__builtin_memcpy(__m->text, #cond,                         \
						 sizeof(#cond) < TEST_MESSAGE_LEN ?        \
							 sizeof(#cond) :                   \
							 TEST_MESSAGE_LEN - 1);            \
			}                                                                  \
			return TEST_FAIL;                                                  \
		}                                                                          \
	} while (0)

/* The verdict SETUP returned, which the runner prepends to the CHECK packet. */
static __always_inline int test_verdict(struct __sk_buff *ctx, __u32 *verdict)
{
	return bpf_skb_load_bytes(ctx, 0, verdict, sizeof(*verdict));
}

/* Offset of the packet within the CHECK input. */
#define TEST_PKT_OFF 4

#ifndef TEST_MAX_CPUS
#define TEST_MAX_CPUS 64
#endif

/* Sums a __u64 at byte offset `off` of a per-CPU map value over all CPUs. */
static __always_inline __u64 test_percpu_sum(void *map, const void *key, __u32 off)
{
	__u64 sum = 0;

	for (__u32 cpu = 0; cpu < TEST_MAX_CPUS; cpu++) {
		void *v = bpf_map_lookup_percpu_elem(map, key, cpu);
		if (!v)
			break;
		__u64 x = 0;
		bpf_probe_read_kernel(&x, sizeof(x), v + off);
		sum += x;
	}
	return sum;
}

#endif /* HYPHA_TEST_H */
