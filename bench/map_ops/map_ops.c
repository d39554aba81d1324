// Baseline for bench/map_ops: the same map operations as hypha's TypeScript bindings, written
// directly against libbpf in C. Loads the same object and map (fixture_hash: 8-byte key, 24-byte
// value, hash) and prints one JSON object with ops/s per operation.
//
// Build: gcc -O2 -o map_ops map_ops.c -lbpf   Run: ./map_ops <fixture.o> <n>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct key {
	uint32_t id;
	uint16_t port;
	uint8_t proto;
	uint8_t pad;
};

struct value {
	uint64_t packets;
	uint64_t bytes;
	uint32_t flags;
	uint32_t pad;
};

#define CHUNK 4096

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fill(struct key *k, struct value *v, uint32_t i)
{
	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
	k->id = i;
	k->port = 80;
	k->proto = 6;
	v->packets = i;
	v->bytes = (uint64_t)i * 100;
	v->flags = i % 7;
}

static void clear(int fd, uint32_t n)
{
	struct key k;
	struct value v;
	for (uint32_t i = 0; i < n; i++) {
		fill(&k, &v, i);
		bpf_map_delete_elem(fd, &k);
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s <fixture.o> <n>\n", argv[0]);
		return 2;
	}
	uint32_t n = (uint32_t)atoi(argv[2]);
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "map_ops: cannot load %s\n", argv[1]);
		return 1;
	}
	int fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "fixture_hash"));
	struct key k;
	struct value v;

	double t0 = now();
	for (uint32_t i = 0; i < n; i++) {
		fill(&k, &v, i);
		if (bpf_map_update_elem(fd, &k, &v, BPF_ANY)) {
			perror("update");
			return 1;
		}
	}
	double single = now() - t0;
	clear(fd, n);

	struct key *keys = calloc(CHUNK, sizeof(*keys));
	struct value *values = calloc(CHUNK, sizeof(*values));
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	t0 = now();
	for (uint32_t start = 0; start < n; start += CHUNK) {
		uint32_t count = n - start < CHUNK ? n - start : CHUNK;
		for (uint32_t j = 0; j < count; j++)
			fill(&keys[j], &values[j], start + j);
		if (bpf_map_update_batch(fd, keys, values, &count, &opts)) {
			perror("update_batch");
			return 1;
		}
	}
	double batch = now() - t0;

	t0 = now();
	uint32_t seen = 0;
	struct key cur, next;
	void *prev = NULL;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (bpf_map_lookup_elem(fd, &next, &v) == 0)
			seen++;
		cur = next;
		prev = &cur;
	}
	double iterate = now() - t0;
	if (seen != n) {
		fprintf(stderr, "iteration saw %u of %u\n", seen, n);
		return 1;
	}
	printf("{\"n\":%u,\"single_update_s\":%.6f,\"batch_update_s\":%.6f,\"iterate_s\":%.6f}\n", n,
	       single, batch, iterate);
	bpf_object__close(obj);
	return 0;
}
