// rr client output: one JSON object on stdout (the default, --json) or text (--text).
//
// rr / crr / probe:
//   {"mode":"rr","proto":"tcp","host":"10.0.0.2","port":5201,"streams":1,
//    "request_size":1,"response_size":1,"timeout_ms":1000,"interval_ms":100,
//    "duration_s":1.0003,           // start to the last stream's end
//    "attempts":N,                  // ok + failed
//    "ok":N,                        // transactions (rr), connections (crr), probes (probe)
//    "failed":N, "connects":N,      // connections opened (rr reconnects after failures)
//    "rate_per_s":N,                // ok / duration_s
//    "latency_us":{"min":..,"mean":..,"p50":..,"p90":..,"p99":..,"max":..} | null (no ok),
//                                   // rr: one transaction; crr/probe: connect to response
//    "failures":{"refused":0,"timeout":0,"reset":0,"short_read":0,"unreachable":0,"other":0},
//    "first_failures":[{"t_ms":12.5,"kind":"refused","error":"Connection refused"}],  // <= 10
//    "max_consecutive_failures":N, "watchdog":false, "stuck_streams":0}
// name / whoami:
//   {"mode":"name","proto":"tcp","host":..,"port":..,"ok":true,"name":"srv-1","latency_us":..}
//   {"mode":"whoami",...,"ok":true,"client_address":"10.0.0.1","client_port":40312,...}
//   {"mode":"name",...,"ok":false,"kind":"refused","error":"Connection refused","latency_us":..}
#include "client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const KIND_NAMES[F_KINDS] = {"refused",    "timeout",     "reset",
                                                "short_read", "unreachable", "other"};
static const char *const MODE_NAMES[] = {"rr", "crr", "probe", "name", "whoami"};

enum fail_kind fail_kind(int err) {
  switch (err) {
  case ECONNREFUSED: return F_REFUSED;
  case ETIMEDOUT:
  case E_IO_TIMEOUT: return F_TIMEOUT;
  case ECONNRESET:
  case ECONNABORTED:
  case EPIPE: return F_RESET;
  case E_SHORT_READ: return F_SHORT_READ;
  case EHOSTUNREACH:
  case ENETUNREACH: return F_UNREACHABLE;
  default: return F_OTHER;
  }
}

const char *fail_kind_name(enum fail_kind k) {
  return KIND_NAMES[k];
}

const char *err_text(int err) {
  if (err == E_SHORT_READ) return "connection closed before the whole response";
  if (err == E_IO_TIMEOUT) return "connected, but no response within the timeout";
  return strerror(err);
}

const char *mode_name(enum mode m) {
  return MODE_NAMES[m];
}

static const char *proto_name(const struct options *o) {
  return o->udp ? "udp" : o->sctp ? "sctp" : "tcp";
}

static int by_time(const void *a, const void *b) {
  double x = ((const struct failure *)a)->t_ms, y = ((const struct failure *)b)->t_ms;
  return (x > y) - (x < y);
}

static void print_json(const struct options *o, const struct stream *t, double elapsed_s,
                       uint64_t stuck, const struct failure *first, int nfirst) {
  printf("{\"mode\":\"%s\",\"proto\":\"%s\",\"host\":", mode_name(o->mode),
         proto_name(o));
  json_str(stdout, o->host);
  printf(",\"port\":%u,\"streams\":%llu,\"request_size\":%u,\"response_size\":%u,"
         "\"timeout_ms\":%llu,\"interval_ms\":%llu,\"duration_s\":%.4f,\"attempts\":%llu,"
         "\"ok\":%llu,\"failed\":%llu,\"connects\":%llu,\"rate_per_s\":%.1f,\"latency_us\":",
         o->port, (unsigned long long)(o->mode == M_PROBE ? 1 : o->streams), o->req, o->resp,
         (unsigned long long)o->timeout_ms, (unsigned long long)o->interval_ms, elapsed_s,
         (unsigned long long)(t->ok + t->failed), (unsigned long long)t->ok,
         (unsigned long long)t->failed, (unsigned long long)t->connects,
         elapsed_s > 0 ? (double)t->ok / elapsed_s : 0.0);
  const struct hist *h = &t->lat;
  if (h->count) {
    printf("{\"min\":%.1f,\"mean\":%.1f,\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"max\":%.1f}",
           h->min_ns / 1e3, (double)h->sum_ns / (double)h->count / 1e3,
           hist_percentile(h, 0.5) / 1e3, hist_percentile(h, 0.9) / 1e3,
           hist_percentile(h, 0.99) / 1e3, h->max_ns / 1e3);
  } else {
    printf("null");
  }
  printf(",\"failures\":{");
  for (int k = 0; k < F_KINDS; k++) {
    printf("%s\"%s\":%llu", k ? "," : "", KIND_NAMES[k], (unsigned long long)t->kinds[k]);
  }
  printf("},\"first_failures\":[");
  for (int i = 0; i < nfirst; i++) {
    printf("%s{\"t_ms\":%.1f,\"kind\":\"%s\",\"error\":", i ? "," : "", first[i].t_ms,
           KIND_NAMES[fail_kind(first[i].err)]);
    json_str(stdout, err_text(first[i].err));
    printf("}");
  }
  printf("],\"max_consecutive_failures\":%llu,\"watchdog\":%s,\"stuck_streams\":%llu}\n",
         (unsigned long long)t->max_consecutive, stuck ? "true" : "false",
         (unsigned long long)stuck);
}

static void print_text(const struct options *o, const struct stream *t, double elapsed_s,
                       uint64_t stuck, const struct failure *first, int nfirst) {
  printf("%s %s %s port %u: %llu stream(s), size %u/%u, %.2f s\n", mode_name(o->mode),
         proto_name(o), o->host, o->port,
         (unsigned long long)(o->mode == M_PROBE ? 1 : o->streams), o->req, o->resp, elapsed_s);
  printf("  ok %llu  failed %llu  connects %llu  rate %.1f/s\n", (unsigned long long)t->ok,
         (unsigned long long)t->failed, (unsigned long long)t->connects,
         elapsed_s > 0 ? (double)t->ok / elapsed_s : 0.0);
  const struct hist *h = &t->lat;
  if (h->count) {
    printf("  latency us: min %.1f  p50 %.1f  p90 %.1f  p99 %.1f  max %.1f  mean %.1f\n",
           h->min_ns / 1e3, hist_percentile(h, 0.5) / 1e3, hist_percentile(h, 0.9) / 1e3,
           hist_percentile(h, 0.99) / 1e3, h->max_ns / 1e3,
           (double)h->sum_ns / (double)h->count / 1e3);
  }
  if (t->failed) {
    printf("  failures:");
    for (int k = 0; k < F_KINDS; k++) {
      if (t->kinds[k]) printf(" %s %llu", KIND_NAMES[k], (unsigned long long)t->kinds[k]);
    }
    printf("  (at most %llu in a row)\n", (unsigned long long)t->max_consecutive);
    for (int i = 0; i < nfirst; i++) {
      printf("    +%.1f ms %s: %s\n", first[i].t_ms, KIND_NAMES[fail_kind(first[i].err)],
             err_text(first[i].err));
    }
  }
  if (stuck) printf("  watchdog: %llu stream(s) stuck\n", (unsigned long long)stuck);
}

void report_run(const struct options *o, struct stream *streams, uint64_t nstreams,
                double elapsed_s, uint64_t stuck) {
  struct stream *total = calloc(1, sizeof *total);
  struct failure first[FIRST_FAILURES * 4];
  int nfirst = 0;
  if (!total) return;
  for (uint64_t i = 0; i < nstreams; i++) {
    const struct stream *s = &streams[i];
    hist_merge(&total->lat, &s->lat);
    total->ok += s->ok;
    total->failed += s->failed;
    total->connects += s->connects;
    for (int k = 0; k < F_KINDS; k++) total->kinds[k] += s->kinds[k];
    if (s->max_consecutive > total->max_consecutive) total->max_consecutive = s->max_consecutive;
    // Keep the earliest failures over all streams.
    for (int j = 0; j < s->nfirst; j++) {
      if (nfirst == FIRST_FAILURES * 4) {
        qsort(first, nfirst, sizeof *first, by_time);
        nfirst = FIRST_FAILURES;
      }
      first[nfirst++] = s->first[j];
    }
  }
  qsort(first, nfirst, sizeof *first, by_time);
  if (nfirst > FIRST_FAILURES) nfirst = FIRST_FAILURES;
  if (o->text) {
    print_text(o, total, elapsed_s, stuck, first, nfirst);
  } else {
    print_json(o, total, elapsed_s, stuck, first, nfirst);
  }
  free(total);
}

void report_query(const struct options *o, int err, const char *answer, uint64_t lat_ns) {
  char address[RR_TEXT_MAX];
  unsigned port = 0;
  snprintf(address, sizeof address, "%s", answer);
  char *space = strrchr(address, ' ');
  if (space) {
    *space = 0;
    port = strtoul(space + 1, NULL, 10);
  }
  if (o->text) {
    if (err) {
      printf("%s %s port %u: %s: %s\n", mode_name(o->mode), o->host, o->port,
             KIND_NAMES[fail_kind(err)], err_text(err));
    } else {
      printf("%s\n", answer);
    }
    return;
  }
  printf("{\"mode\":\"%s\",\"proto\":\"%s\",\"host\":", mode_name(o->mode),
         proto_name(o));
  json_str(stdout, o->host);
  printf(",\"port\":%u,\"ok\":%s,", o->port, err ? "false" : "true");
  if (err) {
    printf("\"kind\":\"%s\",\"error\":", KIND_NAMES[fail_kind(err)]);
    json_str(stdout, err_text(err));
  } else if (o->mode == M_NAME) {
    printf("\"name\":");
    json_str(stdout, answer);
  } else {
    printf("\"client_address\":");
    json_str(stdout, address);
    printf(",\"client_port\":%u", port);
  }
  printf(",\"latency_us\":%.1f}\n", lat_ns / 1e3);
}
