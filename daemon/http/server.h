// SPDX-License-Identifier: Apache-2.0
#pragma once

// shmstatsd's HTTP endpoints, served by HttpTransport (Boost.Beast; lanes, limits
// and deadlines in http/transport.h):
//
//   GET  /metrics        live segment values read at scrape time plus shmstatsd_*;
//                        Prometheus text 0.0.4, or OpenMetrics 1.0 when the Accept
//                        header asks for application/openmetrics-text, or the
//                        protobuf format (http/protobuf_exposition.h) when it asks
//                        for that
//   GET  /stats/prometheus  the same as /metrics
//   GET  /stats          the latest tick as JSON (stats.json's document); 503 before it
//   GET  /stats/history  ?metric=SELECTOR&from=&to=&step=&format=json|csv; 400 with a
//                        message for a bad selector, time, step or format or a query
//                        over the bounds, 503 past its time budget (http/history.h);
//                        &buckets=1 adds histogram buckets per point (http/dashboard_data.h)
//   GET  /               the dashboard page (daemon/dashboard.h)
//   GET  /stats/summary  ?metric=SELECTOR&from=&to=&by=LABEL|instance&format=json|csv:
//                        one row per series or group over the range, bounded as history
//                        (http/history.h)
//   GET  /healthz        {"status":"ok"|"degraded", ...}; 503 when history writes fail
//   GET  /-/ready        200 once the segment is attached and the first tick taken, 503 before
//                        (and while the segment is missing)
//   GET  /-/healthy      200 while the process serves
//   POST /reset          ?metric=SELECTOR, only with --enable-reset and the header
//                        "Authorization: Bearer <token>"; 401/403 otherwise
//
// Every GET route answers HEAD too (headers only), and a body of 1 KiB or more is
// gzip-compressed when the request's Accept-Encoding accepts gzip (http/transport.h).
//
// Thread-safety: handlers run on the server's threads; they only use the
// Collector's thread-safe members and open their own history connections.

#include <memory>
#include <string>

#include "daemon/collector.h"
#include "daemon/config.h"
#include "daemon/http/shared_render.h"
#include "daemon/http/transport.h"

namespace shmstats::daemon {

class HttpServer {
 public:
  HttpServer(const Config& config, Collector& collector);
  ~HttpServer();
  // Binds the listen address and returns the port it got (the kernel's choice for
  // port 0); throws shmstats::Error(kSystem) if it cannot.
  int Bind();
  // Serves until Stop(); call on its own thread.
  void Serve();
  void Stop();

 private:
  // The route table: method, path, lane, handler.
  std::vector<HttpRoute> Routes();
  // The transport's limits, the connection cap within the descriptor limit.
  static HttpLimits Limits();
  const Config& config_;
  Collector& collector_;
  SharedRender metrics_[3];  // /metrics renders: Prometheus text, OpenMetrics, protobuf
  std::unique_ptr<HttpTransport> server_;
};

}  // namespace shmstats::daemon
