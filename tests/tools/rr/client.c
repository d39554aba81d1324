// rr client: the load and probe loops, one thread per stream.
//
//   rr     `streams` persistent connections, each doing back-to-back transactions (request,
//          then the whole response) until the duration ends or `count` transactions were
//          claimed. A failed connection is counted, and the stream reconnects after 10 ms.
//   crr    `streams` parallel loops of connect, one transaction, close. The client closes with
//          SO_LINGER 0 (an RST): a graceful client-first close leaves every port in TIME_WAIT
//          for 60 s, which caps a namespace at ~470 connections/s (28k ephemeral ports) before
//          connect() fails with EADDRNOTAVAIL. --graceful-close keeps the FIN close for short
//          runs where the close itself is under test. A failure pauses that loop for 10 ms.
//   probe  one attempt like crr (but always a graceful close) every `interval_ms`; an attempt
//          that overruns its slot delays the next one instead of causing a burst.
//   name, whoami  one query; prints the server's name / the client address it saw.
//
// SIGTERM or SIGINT ends a run early, as if its duration were over: the streams finish their
// current attempt and the report covers what ran (a test stops traffic when its scenario ends).
// Bounds: connect() is non-blocking with poll(); reads and writes use SO_RCVTIMEO/SO_SNDTIMEO,
// so every connect, transaction or query ends within timeout_ms (rr: per transaction; crr and
// probe: per attempt, connect included). Independently, a watchdog reports and exits at
// duration + timeout + 4 s even if a thread is stuck (exit code 3, "stuck_streams").
// With --udp, a "connection" is a connected UDP socket; lost datagrams show up as timeouts.
// With --sctp, it is a one-to-one SCTP association (SOCK_STREAM, IPPROTO_SCTP) speaking the TCP
// protocol of main.c; an RST close is an SCTP ABORT.
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define RXBUF 65536
#define FAIL_PAUSE_NS (10 * NS_PER_MS)

static struct options O = {.duration_s = 10, .streams = 1, .interval_ms = 100,
                           .timeout_ms = 1000, .req = 1, .resp = 1};
static int64_t t_start, t_end;
static atomic_ullong claimed;
static atomic_bool stop_all;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static uint64_t finished;

// A thread's argument: its results and its buffers.
struct job {
  struct stream s;
  uint8_t *tx; // header followed by the request bytes
  uint8_t rx[RXBUF];
};

static void stop_early(int sig) {
  (void)sig;
  atomic_store(&stop_all, true); // lock-free: async-signal-safe
}

static bool run_over(void) {
  return atomic_load(&stop_all) || now_ns() >= t_end;
}

static bool claim(void) {
  if (!O.count) return true;
  if (atomic_fetch_add(&claimed, 1) < O.count) return true;
  atomic_store(&stop_all, true);
  return false;
}

static void record_ok(struct stream *s, int64_t ns) {
  s->ok++;
  s->consecutive = 0;
  hist_add(&s->lat, ns);
}

static void record_fail(struct stream *s, int err) {
  s->failed++;
  s->kinds[fail_kind(err)]++;
  if (++s->consecutive > s->max_consecutive) s->max_consecutive = s->consecutive;
  if (s->nfirst < FIRST_FAILURES) {
    s->first[s->nfirst++] = (struct failure){(double)(now_ns() - t_start) / NS_PER_MS, err};
  }
}

static void fail_pause(void) {
  int64_t until = now_ns() + FAIL_PAUSE_NS;
  sleep_until_ns(until < t_end ? until : t_end);
}

static int64_t ms_left(int64_t deadline) {
  int64_t d = deadline - now_ns();
  return d <= 0 ? 0 : (d + NS_PER_MS - 1) / NS_PER_MS;
}

static void set_io_timeout(int fd, int64_t ms) {
  if (ms < 1) ms = 1;
  struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// Connects by `deadline`; the socket is left blocking with `io_ms` read/write timeouts.
// Returns 0 or an errno.
static int open_conn(int64_t deadline, int64_t io_ms, bool linger0, int *fdp) {
  int fd = socket(O.addr.ss_family,
                  (O.udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC,
                  O.sctp ? IPPROTO_SCTP : 0);
  if (fd < 0) return errno;
  if (!O.udp) {
    int one = 1;
    if (!O.sctp) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    if (linger0) setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }
  int err = 0;
  if (O.bind || O.local_port) {
    // A fixed local port is reused at once: such connections end with a reset (no TIME_WAIT).
    int one = 1;
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (O.local_port && !O.udp) setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    struct sockaddr_storage local;
    socklen_t len;
    int r = resolve(O.bind ? O.bind : (O.addr.ss_family == AF_INET6 ? "::" : "0.0.0.0"),
                    O.local_port, true, &local, &len);
    if (r) {
      close(fd);
      return EADDRNOTAVAIL;
    }
    if (bind(fd, (struct sockaddr *)&local, len) < 0) {
      err = errno;
      close(fd);
      return err;
    }
  }
  if (connect(fd, (struct sockaddr *)&O.addr, O.addrlen) < 0) {
    err = errno;
    if (err == EINPROGRESS) {
      struct pollfd p = {.fd = fd, .events = POLLOUT};
      int r;
      while ((r = poll(&p, 1, ms_left(deadline))) < 0 && errno == EINTR) {
      }
      socklen_t len = sizeof err;
      if (r == 0) {
        err = ETIMEDOUT;
      } else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)) {
        err = errno;
      }
    }
  }
  if (err) {
    close(fd);
    return err;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  set_io_timeout(fd, io_ms);
  *fdp = fd;
  return 0;
}

static int io_err(void) {
  return errno == EAGAIN ? E_IO_TIMEOUT : errno;
}

static int send_all(int fd, const uint8_t *p, size_t n, int64_t deadline) {
  while (n > 0) {
    ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
    if (r < 0) {
      if (errno == EINTR) continue;
      return io_err();
    }
    p += r;
    n -= r;
    if (n > 0 && now_ns() > deadline) return E_IO_TIMEOUT;
  }
  return 0;
}

static int recv_all(int fd, uint8_t *buf, size_t n, int64_t deadline) {
  while (n > 0) {
    ssize_t r = recv(fd, buf, n < RXBUF ? n : RXBUF, 0);
    if (r == 0) return E_SHORT_READ;
    if (r < 0) {
      if (errno == EINTR) continue;
      return io_err();
    }
    n -= r;
    if (n > 0 && now_ns() > deadline) return E_IO_TIMEOUT;
  }
  return 0;
}

// One request/response. TCP sends the connection header with the first request; a UDP
// datagram always starts with it and is padded to the request size.
static int transaction(int fd, struct job *b, bool first, int64_t deadline) {
  if (O.udp) {
    size_t len = O.req > RR_HDR_LEN ? O.req : RR_HDR_LEN;
    if (send(fd, b->tx, len, MSG_NOSIGNAL) < 0) return io_err();
    ssize_t r;
    while ((r = recv(fd, b->rx, RXBUF, 0)) < 0 && errno == EINTR) {
    }
    if (r < 0) return io_err();
    return (size_t)r == O.resp ? 0 : E_SHORT_READ;
  }
  const uint8_t *p = first ? b->tx : b->tx + RR_HDR_LEN;
  int err = send_all(fd, p, O.req + (first ? RR_HDR_LEN : 0), deadline);
  return err ? err : recv_all(fd, b->rx, O.resp, deadline);
}

static void finish(struct stream *s) {
  pthread_mutex_lock(&mu);
  s->end_ns = now_ns();
  s->done = true;
  finished++;
  pthread_cond_signal(&cv);
  pthread_mutex_unlock(&mu);
}

static void *rr_stream(void *arg) {
  struct job *b = arg;
  struct stream *s = &b->s;
  const int64_t timeout_ns = O.timeout_ms * NS_PER_MS;
  while (!run_over()) {
    int fd, err = open_conn(now_ns() + timeout_ns, O.timeout_ms, false, &fd);
    if (!err) {
      s->connects++;
      for (bool first = true; !run_over() && claim(); first = false) {
        int64_t t0 = now_ns();
        if ((err = transaction(fd, b, first, t0 + timeout_ns))) break;
        record_ok(s, now_ns() - t0);
      }
      close(fd);
    }
    if (err) {
      record_fail(s, err);
      fail_pause();
    }
  }
  finish(s);
  return NULL;
}

// connect, one transaction, close; all within timeout_ms. Returns 0 or an errno.
static int attempt(struct stream *s, struct job *b, bool linger0, int64_t *lat) {
  int64_t t0 = now_ns(), deadline = t0 + O.timeout_ms * NS_PER_MS;
  int fd, err = open_conn(deadline, ms_left(deadline), linger0, &fd);
  if (err) return err;
  s->connects++;
  err = transaction(fd, b, true, deadline);
  *lat = now_ns() - t0;
  close(fd);
  return err;
}

static void *crr_stream(void *arg) {
  struct job *b = arg;
  struct stream *s = &b->s;
  while (!run_over() && claim()) {
    int64_t lat;
    int err = attempt(s, b, !O.graceful_close && !O.udp, &lat);
    if (err) {
      record_fail(s, err);
      fail_pause();
    } else {
      record_ok(s, lat);
    }
  }
  finish(s);
  return NULL;
}

static void *probe_stream(void *arg) {
  struct job *b = arg;
  struct stream *s = &b->s;
  int64_t slot = t_start;
  for (uint64_t i = 0; slot < t_end && !atomic_load(&stop_all) && (!O.count || i < O.count);
       i++) {
    sleep_until_ns(slot);
    int64_t lat;
    int err = attempt(s, b, false, &lat);
    if (err) {
      record_fail(s, err);
    } else {
      record_ok(s, lat);
    }
    slot += O.interval_ms * NS_PER_MS;
    if (slot < now_ns()) slot = now_ns();
  }
  finish(s);
  return NULL;
}

static int run(void) {
  void *(*fn)(void *) = O.mode == M_RR ? rr_stream : O.mode == M_CRR ? crr_stream : probe_stream;
  uint64_t n = O.mode == M_PROBE ? 1 : O.streams;
  struct job **jobs = calloc(n, sizeof *jobs);
  struct stream *list = calloc(n, sizeof *list);
  if (!jobs || !list) {
    fprintf(stderr, "rr client: out of memory\n");
    return 1;
  }
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&cv, &ca);
  pthread_attr_t ta;
  pthread_attr_init(&ta);
  pthread_attr_setstacksize(&ta, 256 << 10);
  t_start = now_ns();
  t_end = t_start + (int64_t)(O.duration_s * NS_PER_S);
  uint64_t started = 0;
  for (uint64_t i = 0; i < n; i++) {
    struct job *j = jobs[i] = calloc(1, sizeof *j);
    if (j) j->tx = calloc(1, RR_HDR_LEN + (O.req > RR_HDR_LEN ? O.req : RR_HDR_LEN));
    if (!j || !j->tx) {
      fprintf(stderr, "rr client: out of memory\n");
      return 1;
    }
    rr_hdr_encode(j->tx, RR_OP_TXN, O.req, O.resp);
    int err = pthread_create(&j->s.tid, &ta, fn, j);
    if (err) {
      fprintf(stderr, "rr client: starting stream %llu: %s\n", (unsigned long long)i + 1,
              strerror(err));
      atomic_store(&stop_all, true);
      break;
    }
    started++;
  }
  int64_t hard = t_end + ((int64_t)O.timeout_ms + 4000) * NS_PER_MS;
  struct timespec ts = {.tv_sec = hard / NS_PER_S, .tv_nsec = hard % NS_PER_S};
  pthread_mutex_lock(&mu);
  while (finished < started && pthread_cond_timedwait(&cv, &mu, &ts) != ETIMEDOUT) {
  }
  uint64_t stuck = started - finished, done = 0;
  int64_t last = t_start;
  for (uint64_t i = 0; i < started; i++) {
    if (!jobs[i]->s.done) continue;
    list[done++] = jobs[i]->s;
    if (jobs[i]->s.end_ns > last) last = jobs[i]->s.end_ns;
  }
  pthread_mutex_unlock(&mu);
  if (stuck) last = now_ns();
  report_run(&O, list, done, (double)(last - t_start) / NS_PER_S, stuck);
  fflush(stdout);
  if (stuck) _exit(EXIT_WATCHDOG); // stuck threads cannot be joined
  for (uint64_t i = 0; i < started; i++) pthread_join(jobs[i]->s.tid, NULL);
  return started == n ? 0 : 1;
}

// name / whoami: one query, answer read until the server closes (TCP) or one datagram (UDP).
static int query(void) {
  uint8_t op = O.mode == M_NAME ? RR_OP_NAME : RR_OP_WHOAMI, hdr[RR_HDR_LEN];
  char answer[RR_TEXT_MAX] = "";
  size_t got = 0;
  int64_t t0 = now_ns(), deadline = t0 + O.timeout_ms * NS_PER_MS;
  rr_hdr_encode(hdr, op, 0, 0);
  int fd, err = open_conn(deadline, O.timeout_ms, false, &fd);
  if (!err) {
    err = send_all(fd, hdr, sizeof hdr, deadline);
    while (!err && got < sizeof answer - 1) {
      ssize_t r = recv(fd, answer + got, sizeof answer - 1 - got, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) err = io_err();
      if (r <= 0) break;
      got += r;
      if (O.udp) break;
      if (now_ns() > deadline) err = E_IO_TIMEOUT;
    }
    close(fd);
  }
  answer[got] = 0;
  if (!err && got == 0) err = E_SHORT_READ;
  report_query(&O, err, answer, now_ns() - t0);
  return err ? EXIT_QUERY_FAILED : 0;
}

static void usage(void) {
  fprintf(stderr,
          "usage: rr client --host H --port P --mode rr|crr|probe|name|whoami\n"
          "         [--duration S] [--count N] [--streams K] [--interval-ms I] [--timeout-ms T]\n"
          "         [--size REQ[/RESP]] [--udp|--sctp] [--graceful-close] [--bind ADDR]\n"
          "         [--local-port P] [--json|--text]\n");
}

int client_main(int argc, char **argv) {
  static const struct option opts[] = {
      {"host", required_argument, 0, 'H'},     {"port", required_argument, 0, 'p'},
      {"mode", required_argument, 0, 'm'},     {"duration", required_argument, 0, 'd'},
      {"count", required_argument, 0, 'c'},    {"streams", required_argument, 0, 'k'},
      {"interval-ms", required_argument, 0, 'i'}, {"timeout-ms", required_argument, 0, 't'},
      {"size", required_argument, 0, 's'},     {"udp", no_argument, 0, 'u'},
      {"graceful-close", no_argument, 0, 'g'}, {"json", no_argument, 0, 'j'},
      {"text", no_argument, 0, 'x'},           {"help", no_argument, 0, 'h'},
      {"bind", required_argument, 0, 'b'},     {"local-port", required_argument, 0, 'l'},
      {"sctp", no_argument, 0, 'S'},           {0, 0, 0, 0}};
  uint64_t local_port = 0;
  uint64_t port = 0;
  bool have_mode = false, have_duration = false;
  for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
    switch (c) {
    case 'H': O.host = optarg; break;
    case 'p':
      if (parse_u64("port", optarg, 1, 65535, &port)) return EXIT_USAGE;
      break;
    case 'm':
      for (enum mode m = M_RR; m <= M_WHOAMI; m++) {
        if (strcmp(optarg, mode_name(m)) == 0) {
          O.mode = m;
          have_mode = true;
        }
      }
      if (!have_mode) {
        fprintf(stderr, "rr client: --mode \"%s\": expected rr, crr, probe, name or whoami\n",
                optarg);
        return EXIT_USAGE;
      }
      break;
    case 'd': {
      char *end;
      O.duration_s = strtod(optarg, &end);
      if (end == optarg || *end || !(O.duration_s > 0 && O.duration_s <= 86400)) {
        fprintf(stderr, "rr client: --duration \"%s\": expected seconds in (0, 86400]\n", optarg);
        return EXIT_USAGE;
      }
      have_duration = true;
      break;
    }
    case 'c':
      if (parse_u64("count", optarg, 1, UINT64_MAX, &O.count)) return EXIT_USAGE;
      break;
    case 'k':
      if (parse_u64("streams", optarg, 1, 1024, &O.streams)) return EXIT_USAGE;
      break;
    case 'i':
      if (parse_u64("interval-ms", optarg, 1, 3600000, &O.interval_ms)) return EXIT_USAGE;
      break;
    case 't':
      if (parse_u64("timeout-ms", optarg, 1, 600000, &O.timeout_ms)) return EXIT_USAGE;
      break;
    case 's':
      if (parse_size(optarg, &O.req, &O.resp)) return EXIT_USAGE;
      break;
    case 'u': O.udp = true; break;
    case 'S': O.sctp = true; break;
    case 'b': O.bind = optarg; break;
    case 'l':
      if (parse_u64("local-port", optarg, 1, 65535, &local_port)) return EXIT_USAGE;
      O.local_port = (uint16_t)local_port;
      break;
    case 'g': O.graceful_close = true; break;
    case 'j': O.text = false; break;
    case 'x': O.text = true; break;
    case 'h': usage(); return 0;
    default: usage(); return EXIT_USAGE;
    }
  }
  if (!O.host || !port || !have_mode || optind != argc) {
    usage();
    return EXIT_USAGE;
  }
  if (O.udp && O.sctp) {
    fprintf(stderr, "rr client: --udp and --sctp exclude each other\n");
    return EXIT_USAGE;
  }
  if (O.udp && (O.req > RR_MAX_UDP || O.resp > RR_MAX_UDP)) {
    fprintf(stderr, "rr client: --size with --udp: at most %u bytes each way\n", RR_MAX_UDP);
    return EXIT_USAGE;
  }
  // A count without a duration still ends: after 300 s at the latest.
  if (O.count && !have_duration) O.duration_s = 300;
  O.port = port;
  int r = resolve(O.host, O.port, false, &O.addr, &O.addrlen);
  if (r) {
    fprintf(stderr, "rr client: --host \"%s\": %s\n", O.host, gai_strerror(r));
    return EXIT_USAGE;
  }
  signal(SIGPIPE, SIG_IGN);
  struct sigaction stop = {.sa_handler = stop_early, .sa_flags = SA_RESTART};
  sigaction(SIGTERM, &stop, NULL);
  sigaction(SIGINT, &stop, NULL);
  raise_nofile();
  return O.mode == M_NAME || O.mode == M_WHOAMI ? query() : run();
}
