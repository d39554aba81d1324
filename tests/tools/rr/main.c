// rr: a small TCP/UDP request/response tool for hypha's tests and benchmarks: a transaction rate
// like netperf TCP_RR, a connect/request/close rate like TCP_CRR, a continuity probe that counts
// failed connections while something restarts, and "who answered / who am I" queries. gcc and
// libc only; built by scripts/build_tools.ts into tests/tools/build/rr.
//
// Command line
//   rr serve --port P [--bind ADDR] [--name NAME] [--udp] [--sctp] [--threads N]
//       --bind defaults to "::" (dual-stack; "0.0.0.0" when IPv6 is off), --port 0 picks a free
//       port, --name defaults to the hostname, --udp also serves UDP on the same port, --sctp
//       listens on SCTP (one-to-one associations, the TCP protocol below) instead of TCP; without
//       SCTP in the kernel it exits 1 with "Protocol not supported".
//       Runs until SIGTERM/SIGINT, then exits 0. Details in server.c.
//   rr client --host H --port P --mode rr|crr|probe|name|whoami [--duration S] [--count N]
//       [--streams K] [--interval-ms I] [--timeout-ms T] [--size REQ[/RESP]] [--udp|--sctp]
//       [--graceful-close] [--bind ADDR] [--local-port P] [--json|--text]
//       Defaults: 10 s (300 s when only --count is given), 1 stream, 100 ms, 1000 ms, 1/1 bytes.
//       --bind/--local-port fix the client's address and port (a fixed port closes with RST).
//       The modes and their time bounds are described in client.c, the output in report.c.
//
// Protocol (TCP). A connection opens with a 12-byte header:
//   offset 0  "rr"            magic
//          2  u8 version      1
//          3  u8 op           'T' transactions, 'N' server name, 'W' client address as seen
//          4  u32 BE request size   bytes per request ('T': 1 .. 16 MiB; else 0)
//          8  u32 BE response size  bytes per response ('T': 1 .. 16 MiB; else 0)
//   'T': requests of exactly `request size` bytes follow, back to back; after each whole request
//        the server writes `response size` bytes (zeros). Requests carry no header of their own,
//        so a 1/1 transaction is one byte each way as in TCP_RR (the first request travels in
//        the header's segment). The client closes.
//   'N', 'W': the server writes a short text and closes: the name, or "ADDRESS PORT" of the
//        client (IPv4-mapped IPv6 shown as IPv4). A bad header closes the connection.
// Protocol (UDP, serve --udp). A datagram starting with a valid header is answered: 'T' with
//   `response size` zero bytes (at most 65507; the client pads its datagram to `request size`),
//   'N' and 'W' with the text above. Any other datagram is echoed back unchanged. Replies leave
//   from the address the datagram was sent to.
//
// Exit codes: 0 done (client: the run completed; failed attempts are counters in the output),
// 1 a name/whoami query failed or the server could not start, 2 usage error, 3 the client's
// watchdog ended a stuck run (the output is still printed).
#include "rr.h"

#include <string.h>

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "serve") == 0) return server_main(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "client") == 0) return client_main(argc - 1, argv + 1);
  fprintf(stderr, "usage: rr serve --help | rr client --help\n");
  return argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
             ? 0
             : EXIT_USAGE;
}
