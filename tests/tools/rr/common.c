// rr: helpers shared by the server and the client (clock, protocol header, addresses, option
// values, JSON strings, the latency histogram).
#include "rr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

void sleep_until_ns(int64_t t) {
  struct timespec ts = {.tv_sec = t / NS_PER_S, .tv_nsec = t % NS_PER_S};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

static uint32_t get_be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void rr_hdr_encode(uint8_t out[RR_HDR_LEN], uint8_t op, uint32_t req, uint32_t resp) {
  out[0] = 'r';
  out[1] = 'r';
  out[2] = RR_VERSION;
  out[3] = op;
  put_be32(out + 4, req);
  put_be32(out + 8, resp);
}

int rr_hdr_decode(const uint8_t in[RR_HDR_LEN], struct rr_hdr *h) {
  if (in[0] != 'r' || in[1] != 'r' || in[2] != RR_VERSION) return -1;
  h->op = in[3];
  h->req = get_be32(in + 4);
  h->resp = get_be32(in + 8);
  switch (h->op) {
  case RR_OP_TXN:
    return h->req >= 1 && h->req <= RR_MAX_SIZE && h->resp >= 1 && h->resp <= RR_MAX_SIZE ? 0
                                                                                          : -1;
  case RR_OP_NAME:
  case RR_OP_WHOAMI:
    return 0;
  default:
    return -1;
  }
}

int resolve(const char *host, uint16_t port, bool passive, struct sockaddr_storage *ss,
            socklen_t *len) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  if (passive) hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
  char service[8];
  snprintf(service, sizeof service, "%u", port);
  struct addrinfo *res;
  int r = getaddrinfo(host, service, &hints, &res);
  if (r != 0) return r;
  memcpy(ss, res->ai_addr, res->ai_addrlen);
  *len = res->ai_addrlen;
  freeaddrinfo(res);
  return 0;
}

void format_addr(const struct sockaddr_storage *ss, char *ip, size_t iplen, uint16_t *port) {
  if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
    *port = ntohs(s6->sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
      inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], ip, iplen);
    } else {
      inet_ntop(AF_INET6, &s6->sin6_addr, ip, iplen);
    }
  } else if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
    *port = ntohs(s4->sin_port);
    inet_ntop(AF_INET, &s4->sin_addr, ip, iplen);
  } else {
    snprintf(ip, iplen, "?");
    *port = 0;
  }
}

int parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || *end || *s == '-' || v < min || v > max) {
    fprintf(stderr, "rr: --%s \"%s\": expected an integer from %llu to %llu\n", opt, s,
            (unsigned long long)min, (unsigned long long)max);
    return -1;
  }
  *out = v;
  return 0;
}

int parse_size(const char *s, uint32_t *req, uint32_t *resp) {
  char buf[64];
  snprintf(buf, sizeof buf, "%s", s);
  char *slash = strchr(buf, '/');
  if (slash) *slash = 0;
  uint64_t a, b;
  if (parse_u64("size", buf, 1, RR_MAX_SIZE, &a)) return -1;
  if (parse_u64("size", slash ? slash + 1 : buf, 1, RR_MAX_SIZE, &b)) return -1;
  *req = a;
  *resp = b;
  return 0;
}

void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = *s;
    if (c == '"' || c == '\\') {
      fputc('\\', f);
      fputc(c, f);
    } else if (c < 0x20) {
      fprintf(f, "\\u%04x", c);
    } else {
      fputc(c, f);
    }
  }
  fputc('"', f);
}

void raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// Bucket i < 64 holds exactly i ns; above, bucket 64 + (g - 6) * 32 + s holds the values whose
// highest set bit is g and whose next five bits are s.
static unsigned hist_index(uint64_t v) {
  if (v < 64) return v;
  unsigned g = 63 - __builtin_clzll(v);
  return 64 + (g - 6) * 32 + (unsigned)((v >> (g - 5)) - 32);
}

static uint64_t hist_mid(unsigned i) {
  if (i < 64) return i;
  unsigned g = 6 + (i - 64) / 32, s = (i - 64) % 32;
  uint64_t width = 1ULL << (g - 5);
  return (32 + s) * width + width / 2;
}

void hist_add(struct hist *h, uint64_t ns) {
  if (h->count == 0 || ns < h->min_ns) h->min_ns = ns;
  if (ns > h->max_ns) h->max_ns = ns;
  h->count++;
  h->sum_ns += ns;
  h->b[hist_index(ns)]++;
}

void hist_merge(struct hist *into, const struct hist *from) {
  if (from->count == 0) return;
  if (into->count == 0 || from->min_ns < into->min_ns) into->min_ns = from->min_ns;
  if (from->max_ns > into->max_ns) into->max_ns = from->max_ns;
  into->count += from->count;
  into->sum_ns += from->sum_ns;
  for (unsigned i = 0; i < HIST_BUCKETS; i++) into->b[i] += from->b[i];
}

uint64_t hist_percentile(const struct hist *h, double p) {
  if (h->count == 0) return 0;
  uint64_t rank = (uint64_t)(p * (double)h->count + 0.999999);
  if (rank < 1) rank = 1;
  uint64_t seen = 0;
  for (unsigned i = 0; i < HIST_BUCKETS; i++) {
    seen += h->b[i];
    if (seen >= rank) {
      uint64_t v = hist_mid(i);
      return v < h->min_ns ? h->min_ns : v > h->max_ns ? h->max_ns : v;
    }
  }
  return h->max_ns;
}
