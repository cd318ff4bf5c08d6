// SPDX-License-Identifier: Apache-2.0
#pragma once

// shmstatsd's HTTP/1.1 server, on Boost.Beast over Boost.Asio: a few I/O threads
// multiplex every connection (a slow or idle client costs a socket and a timer, never
// a thread), and each route runs in a lane:
//
//   kInline  on the I/O threads: cheap handlers (/healthz, /stats, /reset)
//   kScrape  its own threads: rendering the live segment (/metrics)
//   kQuery   its own threads: history queries, the expensive ones
//
// A lane's queue is bounded: a request that finds it full gets 503 with
// Retry-After at once, so an expensive lane never delays the others. Every request
// must arrive whole (headers and body) within `request_deadline` of the connection
// being ready for it, or the connection is closed; a response must be written
// within the same time; between requests a kept-alive connection may stay idle for
// `idle_timeout`. When `max_connections` are open, a new connection takes the
// place of the connection that has been idle longest (kept alive, waiting for its
// next request): it is closed, and the new one served. Only when none is idle is
// the new one answered 503 and closed. So whoever holds many idle connections
// cannot keep a scraper or a health check out. A connection closed after an answer (an error, a
// refusal or "Connection: close") is closed gracefully: the client's unread request bytes are
// drained (bounded) so that the answer is not lost to a reset. Stop() returns
// promptly under any load: queued requests are dropped and running handlers see
// stopping() and give up.
//
// A GET route also answers HEAD: the same status and headers (Content-Length that
// GET would send), no body. A response body of 1 KiB or more carries
// "Vary: Accept-Encoding" and is gzip-compressed (Content-Encoding: gzip) on the
// handler's lane when the request's Accept-Encoding accepts gzip (http/gzip.h).
//
// Thread-safety: Bind, Serve and Stop may be called from different threads; Stop
// may be called before or while Serve runs. Handlers run concurrently with each
// other (several threads per lane): they must be thread-safe.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/http/types.h"

namespace shmstats::daemon {

enum class Lane { kInline, kScrape, kQuery };

using HttpHandler = std::function<void(const HttpRequest&, HttpResponse&)>;

struct HttpRoute {
  std::string_view method;  // "GET", "POST"
  std::string_view path;    // exact path, e.g. "/metrics"
  Lane lane;
  HttpHandler handler;
};

struct HttpLimits {
  int io_threads = 2;
  int scrape_threads = 2;
  size_t scrape_queue = 256;  // waiting /metrics requests beyond which 503
  int query_threads = 2;
  size_t query_queue = 4;  // waiting history queries beyond which 503
  // Open connections. Beyond, the oldest idle one is closed for the new one, or,
  // with none idle, the new one gets 503 and is closed. The daemon lowers it to
  // leave a reserve of descriptors under RLIMIT_NOFILE (ConnectionCap).
  size_t max_connections = 512;
  std::chrono::milliseconds request_deadline{10'000};
  // A kept-alive connection may wait this long for its next request's first byte
  // (from which request_deadline runs). An idle connection costs a socket and a
  // timer, no thread, so scrapers every 15 s to 60 s keep theirs; max_connections
  // bounds how many are held.
  std::chrono::milliseconds idle_timeout{300'000};
  size_t max_request_bytes = 64 * 1024;  // headers and body; larger: 413/431 and close
};

// `wanted` connections, or fewer, so that `reserve` descriptors stay free under
// RLIMIT_NOFILE for the daemon's own files (the segment, the history database and
// its journal, stats.json, the spool, sockets). Raises the soft limit to the hard
// one first when it may (a sandbox may forbid it: the unit sets LimitNOFILE).
size_t ConnectionCap(size_t wanted, size_t reserve = 256);

class HttpTransport {
 public:
  HttpTransport(std::vector<HttpRoute> routes, HttpLimits limits = {});
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // Listens on host:port (SO_REUSEADDR, never SO_REUSEPORT: a second daemon on the
  // same address is refused); port 0 lets the kernel choose. Returns the port it
  // listens on. Throws shmstats::Error(kSystem) naming `what`.
  int Bind(const std::string& host, int port, const std::string& what);
  // Serves until Stop(); call on its own thread.
  void Serve();
  void Stop();
  // Requests waiting in `lane`'s queue now (kInline: always 0).
  size_t Waiting(Lane lane) const;
  // Idle connections closed to make room for new ones, and new connections
  // refused (503) with none idle to close, since the start.
  uint64_t idle_closed() const;
  uint64_t refused() const;
  // Kept-alive connections awaiting their next request now.
  size_t idle() const;
  // Connections counted against max_connections now: a closed connection is counted
  // until its session is destroyed, shortly after its client saw the close.
  size_t connections() const;
  // True once Stop() was called: long handlers poll it and give up.
  bool stopping() const { return stopping_.load(std::memory_order_relaxed); }

  struct Impl;  // the io_context, acceptor and lanes: http/transport.cc

 private:
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> stopping_{false};
};

}  // namespace shmstats::daemon
