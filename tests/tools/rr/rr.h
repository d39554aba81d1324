// rr: shared declarations. The protocol, the command line and the exit codes are documented in
// main.c; the client's JSON output in report.c.
#ifndef RR_H
#define RR_H

#define _GNU_SOURCE
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

// Connection (TCP) or datagram (UDP) header, 12 bytes: "rr", version, op, u32 BE request size,
// u32 BE response size.
#define RR_HDR_LEN 12
#define RR_VERSION 1
#define RR_OP_TXN 'T'
#define RR_OP_NAME 'N'
#define RR_OP_WHOAMI 'W'
#define RR_MAX_SIZE (16u << 20) // per request or response (TCP)
#define RR_MAX_UDP 65507u       // per datagram
#define RR_TEXT_MAX 320         // name / whoami answers, with the terminating NUL

#define NS_PER_S 1000000000LL
#define NS_PER_MS 1000000LL

// Exit codes (main.c).
#define EXIT_QUERY_FAILED 1
#define EXIT_USAGE 2
#define EXIT_WATCHDOG 3

struct rr_hdr {
  uint8_t op;
  uint32_t req;
  uint32_t resp;
};

void rr_hdr_encode(uint8_t out[RR_HDR_LEN], uint8_t op, uint32_t req, uint32_t resp);
// 0 when `in` is a valid header (magic, version, known op, 'T' sizes in range); -1 otherwise.
int rr_hdr_decode(const uint8_t in[RR_HDR_LEN], struct rr_hdr *h);

int64_t now_ns(void); // CLOCK_MONOTONIC
void sleep_until_ns(int64_t t);

// getaddrinfo for one address; returns 0 or a getaddrinfo error code (gai_strerror).
int resolve(const char *host, uint16_t port, bool passive, struct sockaddr_storage *ss,
            socklen_t *len);
// Numeric address and port; IPv4-mapped IPv6 addresses are shown as IPv4.
void format_addr(const struct sockaddr_storage *ss, char *ip, size_t iplen, uint16_t *port);

// Option parsing: 0 on success, -1 (after printing why to stderr) on a bad value.
int parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out);
int parse_size(const char *s, uint32_t *req, uint32_t *resp);

void json_str(FILE *f, const char *s);
void raise_nofile(void); // soft RLIMIT_NOFILE up to the hard limit: hundreds of sockets

// Log-linear latency histogram in nanoseconds: exact below 64 ns, then 32 buckets per power of
// two, so a percentile is within ~3% of the true value. Min, max and mean are exact.
#define HIST_BUCKETS (64 + 58 * 32)
struct hist {
  uint64_t count, sum_ns, min_ns, max_ns;
  uint64_t b[HIST_BUCKETS];
};
void hist_add(struct hist *h, uint64_t ns);
void hist_merge(struct hist *into, const struct hist *from);
uint64_t hist_percentile(const struct hist *h, double p); // p in [0, 1]

int server_main(int argc, char **argv);
int client_main(int argc, char **argv);

#endif
