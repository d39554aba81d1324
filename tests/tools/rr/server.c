// rr serve: one epoll worker thread per CPU (at most 16) sharing a non-blocking listening socket
// (EPOLLEXCLUSIVE wakes one worker per new connection), each connection a small state machine, so
// hundreds of short connections and a few long ones are cheap on two cores. Optional UDP on the
// same port is served by worker 0. The main thread waits for SIGTERM/SIGINT, wakes the workers
// through an eventfd and prints a summary.
//
// stdout: {"event":"listening",...} once ready (tests wait for this line), and
// {"event":"stopped","connections":N,"transactions":N,"datagrams":N} on exit. Errors go to
// stderr.
#include "rr.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

enum kind { K_LISTEN, K_UDP, K_STOP, K_CONN };

// Everything registered in an epoll set starts with its kind.
struct endpoint {
  enum kind kind;
  int fd;
};

struct conn {
  enum kind kind; // K_CONN
  int fd;
  uint8_t hdr[RR_HDR_LEN];
  uint32_t hdr_got;
  struct rr_hdr h;
  uint64_t in_left;  // bytes still to read of the current request
  uint64_t out_zero; // response bytes owed (responses are zeros)
  char text[RR_TEXT_MAX];
  uint32_t text_len, text_off;
  bool close_after; // close once the output is flushed (name/whoami answered, or peer EOF)
  bool eof;
  uint32_t events; // current epoll interest
  struct sockaddr_storage peer;
};

struct worker {
  pthread_t tid;
  int ep;
  uint64_t conns, txns, datagrams;
};

static const uint8_t ZEROS[65536];
static char server_name[RR_TEXT_MAX];
static struct endpoint listen_ep = {K_LISTEN, -1}, udp_ep = {K_UDP, -1}, stop_ep = {K_STOP, -1};

static void whoami_text(const struct sockaddr_storage *peer, char *out, size_t n) {
  char ip[64];
  uint16_t port;
  format_addr(peer, ip, sizeof ip, &port);
  snprintf(out, n, "%s %u", ip, port);
}

static void conn_close(struct conn *c) {
  close(c->fd); // also leaves the epoll set
  free(c);
}

static int conn_set_events(struct worker *w, struct conn *c, bool want_out) {
  uint32_t ev = (c->eof ? 0 : EPOLLIN) | (want_out ? EPOLLOUT : 0);
  if (ev == c->events) return 0;
  struct epoll_event e = {.events = ev, .data.ptr = c};
  c->events = ev;
  return epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &e);
}

// Writes what is owed; returns -1 when the connection should be closed.
static int conn_flush(struct worker *w, struct conn *c) {
  while (c->text_off < c->text_len || c->out_zero > 0) {
    ssize_t n;
    if (c->text_off < c->text_len) {
      n = send(c->fd, c->text + c->text_off, c->text_len - c->text_off, MSG_NOSIGNAL);
    } else {
      size_t chunk = c->out_zero < sizeof ZEROS ? c->out_zero : sizeof ZEROS;
      n = send(c->fd, ZEROS, chunk, MSG_NOSIGNAL);
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return conn_set_events(w, c, true);
      return -1;
    }
    if (c->text_off < c->text_len) {
      c->text_off += n;
    } else {
      c->out_zero -= n;
    }
  }
  if (c->close_after) return -1;
  return conn_set_events(w, c, false);
}

static int conn_on_header(struct conn *c) {
  if (rr_hdr_decode(c->hdr, &c->h)) return -1;
  if (c->h.op == RR_OP_TXN) {
    c->in_left = c->h.req;
    return 0;
  }
  if (c->h.op == RR_OP_NAME) {
    snprintf(c->text, sizeof c->text, "%s", server_name);
  } else {
    whoami_text(&c->peer, c->text, sizeof c->text);
  }
  c->text_len = strlen(c->text);
  c->close_after = true;
  return 0;
}

// Reads once (epoll is level-triggered, so a busy connection cannot starve the others).
static int conn_read(struct worker *w, struct conn *c, uint8_t *buf, size_t bufsz) {
  ssize_t n = recv(c->fd, buf, bufsz, 0);
  if (n == 0) {
    c->eof = true;
    c->close_after = true;
    return conn_flush(w, c);
  }
  if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
  const uint8_t *p = buf;
  while (n > 0) {
    size_t take;
    if (c->hdr_got < RR_HDR_LEN) {
      take = RR_HDR_LEN - c->hdr_got < (size_t)n ? RR_HDR_LEN - c->hdr_got : (size_t)n;
      memcpy(c->hdr + c->hdr_got, p, take);
      c->hdr_got += take;
      if (c->hdr_got == RR_HDR_LEN && conn_on_header(c)) return -1;
    } else if (c->h.op == RR_OP_TXN) {
      take = c->in_left < (uint64_t)n ? c->in_left : (size_t)n;
      c->in_left -= take;
      if (c->in_left == 0) {
        c->out_zero += c->h.resp;
        c->in_left = c->h.req;
        w->txns++;
      }
    } else {
      take = n; // nothing more is expected after a name/whoami header
    }
    p += take;
    n -= take;
  }
  return conn_flush(w, c);
}

static void accept_all(struct worker *w) {
  for (int i = 0; i < 64; i++) {
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    int fd = accept4(listen_ep.fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN) perror("rr serve: accept");
      return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); // fails harmlessly on SCTP
    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
      close(fd);
      continue;
    }
    c->kind = K_CONN;
    c->fd = fd;
    c->peer = peer;
    c->events = EPOLLIN;
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &e)) {
      conn_close(c);
      continue;
    }
    w->conns++;
  }
}

// Replies from the address the datagram was sent to: the received IP_PKTINFO / IPV6_PKTINFO is
// turned into the source of the reply (a wildcard socket would otherwise pick by route).
static size_t reply_control(struct msghdr *in, uint8_t *out, size_t outsz) {
  struct msghdr m = {.msg_control = out, .msg_controllen = outsz};
  struct cmsghdr *o = CMSG_FIRSTHDR(&m);
  for (struct cmsghdr *c = CMSG_FIRSTHDR(in); c && o; c = CMSG_NXTHDR(in, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      struct in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      pi.ipi_spec_dst = pi.ipi_addr;
      pi.ipi_ifindex = 0;
      o->cmsg_level = IPPROTO_IP;
      o->cmsg_type = IP_PKTINFO;
      o->cmsg_len = CMSG_LEN(sizeof pi);
      memcpy(CMSG_DATA(o), &pi, sizeof pi);
      return CMSG_SPACE(sizeof pi);
    }
    if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      struct in6_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      if (!IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr)) pi.ipi6_ifindex = 0;
      o->cmsg_level = IPPROTO_IPV6;
      o->cmsg_type = IPV6_PKTINFO;
      o->cmsg_len = CMSG_LEN(sizeof pi);
      memcpy(CMSG_DATA(o), &pi, sizeof pi);
      return CMSG_SPACE(sizeof pi);
    }
  }
  return 0;
}

static void udp_serve(struct worker *w, uint8_t *buf, size_t bufsz) {
  for (int i = 0; i < 64; i++) {
    struct sockaddr_storage peer;
    uint8_t cin[256], cout[256];
    struct iovec iov = {.iov_base = buf, .iov_len = bufsz};
    struct msghdr m = {.msg_name = &peer, .msg_namelen = sizeof peer, .msg_iov = &iov,
                       .msg_iovlen = 1, .msg_control = cin, .msg_controllen = sizeof cin};
    ssize_t n = recvmsg(udp_ep.fd, &m, MSG_DONTWAIT);
    if (n < 0) return;
    w->datagrams++;
    struct rr_hdr h;
    char text[RR_TEXT_MAX];
    struct iovec out = {.iov_base = buf, .iov_len = n}; // default: echo
    if ((size_t)n >= RR_HDR_LEN && rr_hdr_decode(buf, &h) == 0) {
      if (h.op == RR_OP_TXN) {
        out.iov_base = (void *)ZEROS;
        out.iov_len = h.resp < RR_MAX_UDP ? h.resp : RR_MAX_UDP;
        w->txns++;
      } else {
        if (h.op == RR_OP_NAME) {
          snprintf(text, sizeof text, "%s", server_name);
        } else {
          whoami_text(&peer, text, sizeof text);
        }
        out.iov_base = text;
        out.iov_len = strlen(text);
      }
    }
    struct msghdr r = {.msg_name = &peer, .msg_namelen = m.msg_namelen, .msg_iov = &out,
                       .msg_iovlen = 1, .msg_control = cout};
    r.msg_controllen = reply_control(&m, cout, sizeof cout);
    if (!r.msg_controllen) r.msg_control = NULL;
    sendmsg(udp_ep.fd, &r, MSG_DONTWAIT | MSG_NOSIGNAL);
  }
}

static void *worker_run(void *arg) {
  struct worker *w = arg;
  uint8_t buf[65536];
  struct epoll_event ev[64];
  for (;;) {
    int n = epoll_wait(w->ep, ev, 64, -1);
    if (n < 0 && errno != EINTR) {
      perror("rr serve: epoll_wait");
      return NULL;
    }
    for (int i = 0; i < n; i++) {
      enum kind kind = *(enum kind *)ev[i].data.ptr;
      if (kind == K_STOP) return NULL;
      if (kind == K_LISTEN) {
        accept_all(w);
      } else if (kind == K_UDP) {
        udp_serve(w, buf, sizeof buf);
      } else {
        struct conn *c = ev[i].data.ptr;
        int r = 0;
        if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) r = conn_read(w, c, buf, sizeof buf);
        if (r == 0 && (ev[i].events & EPOLLOUT)) r = conn_flush(w, c);
        if (r) conn_close(c);
      }
    }
  }
}

// Binds `addr` (for "::", dual-stack); a stream socket (TCP, or SCTP one-to-one with
// IPPROTO_SCTP) also listens. Returns the fd or -1 with errno set (EPROTONOSUPPORT: no SCTP in
// this kernel).
static int open_socket(int type, int proto, const struct sockaddr_storage *addr, socklen_t len) {
  int fd = socket(addr->ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
  if (fd < 0) return -1;
  int one = 1, zero = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (addr->ss_family == AF_INET6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (type == SOCK_DGRAM) setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
  }
  if (type == SOCK_DGRAM) setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
  if (bind(fd, (const struct sockaddr *)addr, len) || (type == SOCK_STREAM && listen(fd, 4096))) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

static void set_port(struct sockaddr_storage *ss, uint16_t port) {
  if (ss->ss_family == AF_INET6) {
    ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
  } else {
    ((struct sockaddr_in *)ss)->sin_port = htons(port);
  }
}

static void usage(void) {
  fprintf(stderr, "usage: rr serve --port P [--bind ADDR] [--name NAME] [--udp] [--sctp] "
                  "[--threads N]\n");
}

int server_main(int argc, char **argv) {
  static const struct option opts[] = {
      {"port", required_argument, 0, 'p'}, {"bind", required_argument, 0, 'b'},
      {"name", required_argument, 0, 'n'}, {"udp", no_argument, 0, 'u'},
      {"threads", required_argument, 0, 't'}, {"help", no_argument, 0, 'h'},
      {"sctp", no_argument, 0, 'S'},          {0, 0, 0, 0}};
  uint64_t port = 0, threads = sysconf(_SC_NPROCESSORS_ONLN);
  bool have_port = false, udp = false, sctp = false;
  const char *bind_addr = NULL;
  if (threads < 1) threads = 1;
  if (threads > 16) threads = 16;
  gethostname(server_name, sizeof server_name - 1);
  for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
    switch (c) {
    case 'p':
      if (parse_u64("port", optarg, 0, 65535, &port)) return EXIT_USAGE;
      have_port = true;
      break;
    case 'b': bind_addr = optarg; break;
    case 'n': snprintf(server_name, sizeof server_name, "%s", optarg); break;
    case 'u': udp = true; break;
    case 'S': sctp = true; break;
    case 't':
      if (parse_u64("threads", optarg, 1, 64, &threads)) return EXIT_USAGE;
      break;
    case 'h': usage(); return 0;
    default: usage(); return EXIT_USAGE;
    }
  }
  if (!have_port || optind != argc) {
    usage();
    return EXIT_USAGE;
  }

  struct sockaddr_storage addr;
  socklen_t len;
  const char *shown = bind_addr ? bind_addr : "::";
  int r = resolve(shown, port, true, &addr, &len);
  if (r) {
    fprintf(stderr, "rr serve: --bind \"%s\": %s\n", shown, gai_strerror(r));
    return EXIT_USAGE;
  }
  const int stream_proto = sctp ? IPPROTO_SCTP : 0;
  listen_ep.fd = open_socket(SOCK_STREAM, stream_proto, &addr, len);
  if (listen_ep.fd < 0 && !bind_addr && (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)) {
    shown = "0.0.0.0"; // IPv6 disabled in this namespace
    resolve(shown, port, true, &addr, &len);
    listen_ep.fd = open_socket(SOCK_STREAM, stream_proto, &addr, len);
  }
  if (listen_ep.fd < 0) {
    fprintf(stderr, "rr serve: listening on %s %s port %llu: %s\n", sctp ? "SCTP" : "TCP", shown,
            (unsigned long long)port, strerror(errno));
    return 1;
  }
  struct sockaddr_storage bound;
  socklen_t blen = sizeof bound;
  getsockname(listen_ep.fd, (struct sockaddr *)&bound, &blen);
  char ip[64];
  uint16_t actual;
  format_addr(&bound, ip, sizeof ip, &actual);
  if (udp) {
    set_port(&addr, actual);
    udp_ep.fd = open_socket(SOCK_DGRAM, 0, &addr, len);
    if (udp_ep.fd < 0) {
      fprintf(stderr, "rr serve: binding UDP %s port %u: %s\n", shown, actual, strerror(errno));
      return 1;
    }
  }

  raise_nofile();
  signal(SIGPIPE, SIG_IGN);
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL); // inherited by the workers; main sigwait()s
  stop_ep.fd = eventfd(0, EFD_CLOEXEC);

  struct worker *ws = calloc(threads, sizeof *ws);
  if (!ws) {
    fprintf(stderr, "rr serve: out of memory\n");
    return 1;
  }
  for (uint64_t i = 0; i < threads; i++) {
    ws[i].ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event stop = {.events = EPOLLIN, .data.ptr = &stop_ep};
    struct epoll_event lis = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = &listen_ep};
    struct epoll_event dgram = {.events = EPOLLIN, .data.ptr = &udp_ep};
    if (stop_ep.fd < 0 || ws[i].ep < 0 ||
        epoll_ctl(ws[i].ep, EPOLL_CTL_ADD, stop_ep.fd, &stop) ||
        epoll_ctl(ws[i].ep, EPOLL_CTL_ADD, listen_ep.fd, &lis) ||
        (i == 0 && udp && epoll_ctl(ws[i].ep, EPOLL_CTL_ADD, udp_ep.fd, &dgram))) {
      perror("rr serve: setting up epoll");
      return 1;
    }
    if ((errno = pthread_create(&ws[i].tid, NULL, worker_run, &ws[i]))) {
      perror("rr serve: starting a worker");
      return 1;
    }
  }

  printf("{\"event\":\"listening\",\"bind\":");
  json_str(stdout, shown);
  printf(",\"port\":%u,\"udp\":%s,\"sctp\":%s,\"name\":", actual, udp ? "true" : "false",
         sctp ? "true" : "false");
  json_str(stdout, server_name);
  printf(",\"threads\":%llu,\"pid\":%d}\n", (unsigned long long)threads, (int)getpid());
  fflush(stdout);

  int sig;
  sigwait(&sigs, &sig);
  uint64_t one = 1;
  if (write(stop_ep.fd, &one, sizeof one) != sizeof one) perror("rr serve: waking workers");
  uint64_t conns = 0, txns = 0, datagrams = 0;
  for (uint64_t i = 0; i < threads; i++) {
    pthread_join(ws[i].tid, NULL);
    conns += ws[i].conns;
    txns += ws[i].txns;
    datagrams += ws[i].datagrams;
  }
  printf("{\"event\":\"stopped\",\"signal\":\"%s\",\"connections\":%llu,\"transactions\":%llu,"
         "\"datagrams\":%llu}\n",
         sig == SIGTERM ? "SIGTERM" : "SIGINT", (unsigned long long)conns,
         (unsigned long long)txns, (unsigned long long)datagrams);
  return 0;
}
