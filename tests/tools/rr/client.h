// rr client: options, per-stream results and the report (report.c) shared with client.c.
#ifndef RR_CLIENT_H
#define RR_CLIENT_H

#include "rr.h"

#include <stdatomic.h>
#include <pthread.h>

enum mode { M_RR, M_CRR, M_PROBE, M_NAME, M_WHOAMI };

struct options {
  enum mode mode;
  bool udp, text, graceful_close;
  bool sctp; // the stream socket is SCTP (one-to-one style) instead of TCP
  const char *host;
  uint16_t port;
  double duration_s;
  uint64_t count; // 0: no limit besides the duration
  uint64_t streams, interval_ms, timeout_ms;
  uint32_t req, resp;
  struct sockaddr_storage addr;
  socklen_t addrlen;
  // --bind / --local-port: the client's own address and port (0: the kernel picks).
  const char *bind;
  uint16_t local_port;
};

// Failure kinds, as reported in "failures" (report.c).
enum fail_kind { F_REFUSED, F_TIMEOUT, F_RESET, F_SHORT_READ, F_UNREACHABLE, F_OTHER, F_KINDS };
// Pseudo-errnos: the peer closed before the whole response arrived; connected, but a read or
// write timed out (ETIMEDOUT is left for connect()).
#define E_SHORT_READ 100000
#define E_IO_TIMEOUT 100001
#define FIRST_FAILURES 10

struct failure {
  double t_ms; // since the start of the run
  int err;     // errno or E_*
};

// One client thread's results; the report merges the streams that finished.
struct stream {
  pthread_t tid;
  struct hist lat;
  uint64_t ok, failed, connects, consecutive, max_consecutive;
  uint64_t kinds[F_KINDS];
  struct failure first[FIRST_FAILURES];
  int nfirst;
  int64_t end_ns;
  bool done; // set under the client's mutex when the thread has finished
};

enum fail_kind fail_kind(int err);
const char *fail_kind_name(enum fail_kind k);
const char *err_text(int err);

const char *mode_name(enum mode m);
void report_run(const struct options *o, struct stream *streams, uint64_t nstreams,
                double elapsed_s, uint64_t stuck);
void report_query(const struct options *o, int err, const char *answer, uint64_t lat_ns);

#endif
