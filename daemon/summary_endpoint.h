#pragma once

// GET /stats/summary?metric=SELECTOR&from=&to=&by=LABEL|instance&format=json|csv:
// one row per series (or per group) over the range (history_summary.h). Kept apart
// from the HTTP library: the route in http_server.cc passes the query parameters
// in and sends the answer out.
//
// Answers: 200 with the summary; 400 with a message for a bad selector, time,
// grouping or format; 503 when the history store cannot be read.
// Thread-safety: opens its own store connection per call.

#include <functional>
#include <string>

namespace shmstats::daemon {

struct HttpAnswer {
  int status = 200;
  std::string body;
  const char* content_type = "text/plain; charset=utf-8";
};

// `param(name, fallback)` returns a query parameter or the fallback.
using ParamFn = std::function<std::string(const char* name, const char* fallback)>;

HttpAnswer SummaryEndpoint(const std::string& history_location, const ParamFn& param);

}  // namespace shmstats::daemon
