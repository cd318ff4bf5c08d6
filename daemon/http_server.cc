#include "http_server.h"

#include <fmt/format.h>
#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>
#include <string_view>

#include "common/exposition.h"
#include "common/selector.h"
#include "history_query.h"
#include "history_time.h"
#include "shmstats/error.h"
#include "sqlite_db.h"
#include "summary_endpoint.h"

namespace shmstats::daemon {
namespace {

// Every response body goes out through here: as a content provider of known
// length, which moves the body instead of copying it and which cpp-httplib does not
// compress. (Debian's cpp-httplib is built with Brotli, and chose it for any client
// that accepts "br": 1.5 s of CPU for a 10,000-series /metrics.)
void Send(httplib::Response& res, std::string body, const char* content_type) {
  auto shared = std::make_shared<std::string>(std::move(body));
  res.set_content_provider(shared->size(), content_type,
                           [shared](size_t offset, size_t length, httplib::DataSink& sink) {
                             return sink.write(shared->data() + offset, length);
                           });
}

void Text(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  Send(res, body, "text/plain; charset=utf-8");
}

std::string Param(const httplib::Request& req, const char* name, const char* fallback) {
  return req.has_param(name) ? req.get_param_value(name) : fallback;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool SameIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Content negotiation of /metrics (RFC 9110): OpenMetrics when the Accept header
// gives application/openmetrics-text a quality above 0 and at least that of
// text/plain (or of text/* or */*, which text/plain satisfies); media types compare
// case-insensitively; a quality that is not a number in [0, 1] counts as 0.
// Prometheus sends
// "application/openmetrics-text;version=1.0.0;q=0.5,...,text/plain;version=0.0.4;q=0.3".
bool WantsOpenMetrics(std::string_view accept) {
  double om = 0, text = 0;
  while (!accept.empty()) {
    size_t comma = accept.find(',');
    std::string_view range = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? "" : accept.substr(comma + 1);
    size_t semi = range.find(';');
    std::string_view type = Trim(range.substr(0, semi));
    double q = 1;
    while (semi != std::string_view::npos) {
      range.remove_prefix(semi + 1);
      semi = range.find(';');
      std::string_view param = Trim(range.substr(0, semi));
      if (param.size() > 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
        const char* end = param.data() + param.size();
        auto [stop, ec] = std::from_chars(param.data() + 2, end, q);  // no locale
        if (ec != std::errc() || stop != end || !(q >= 0 && q <= 1)) q = 0;
      }
    }
    if (SameIgnoringCase(type, "application/openmetrics-text")) om = std::max(om, q);
    if (SameIgnoringCase(type, "text/plain") || SameIgnoringCase(type, "text/*") || type == "*/*") {
      text = std::max(text, q);
    }
  }
  return om > 0 && om >= text;
}

bool SameToken(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() != b.size();
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ (i < b.size() ? b[i] : 0);
  return diff == 0;
}

}  // namespace

HttpServer::HttpServer(const Config& config, Collector& collector)
    : config_(config), collector_(collector), server_(std::make_unique<httplib::Server>()) {
  // cpp-httplib's default also sets SO_REUSEPORT, which would let a second daemon
  // bind the same address and take half of the scrapes: SO_REUSEADDR only.
  server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  Routes();
}

HttpServer::~HttpServer() = default;

void HttpServer::Bind() {
  if (!server_->bind_to_port(config_.listen_host.c_str(), config_.listen_port)) {
    throw Error(Errc::kSystem, fmt::format("cannot listen on {} (in use, or not a local "
                                           "address?)",
                                           config_.listen));
  }
}

void HttpServer::Serve() { server_->listen_after_bind(); }

void HttpServer::Stop() { server_->stop(); }

void HttpServer::Routes() {
  server_->Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
    auto format = WantsOpenMetrics(req.get_header_value("Accept"))
                      ? common::TextFormat::kOpenMetrics
                      : common::TextFormat::kPrometheus;
    Snapshot snap;
    if (auto segment = collector_.Attached()) {
      try {
        snap = segment->Read();
        collector_.self_metrics().SetSegment(segment->Info());
      } catch (const Error& e) {
        collector_.self_metrics().CountError(ErrorKind::kSegment);
      }
    }
    // The daemon's own families win over a producer's metric of the same name.
    std::erase_if(snap.metrics,
                  [](const MetricSnapshot& m) { return m.name.starts_with("shmstatsd_"); });
    for (auto& m : collector_.self_metrics().Collect()) snap.metrics.push_back(std::move(m));
    Send(res, common::ToText(snap, format), common::ContentType(format));
  });

  server_->Get("/stats", [this](const httplib::Request&, httplib::Response& res) {
    std::string doc = collector_.LatestStats();
    if (doc.empty())
      return Text(res, 503,
                  "no snapshot yet: the segment is missing or the "
                  "first tick has not run\n");
    Send(res, std::move(doc), "application/json");
  });

  server_->Get("/stats/history", [this](const httplib::Request& req, httplib::Response& res) {
    try {
      int64_t now = history::NowMs();
      std::string metric = Param(req, "metric", "");
      auto selector = metric.empty() ? common::Selector() : common::Selector::Parse(metric);
      history::QueryRange range;
      range.step_ms = history::ParseStep(Param(req, "step", "1m"));
      range.from_ms = history::ParseTime(Param(req, "from", "-1h"), now);
      range.to_ms = history::ParseTime(Param(req, "to", "now"), now);
      std::string format = Param(req, "format", "json");
      if (format != "json" && format != "csv") {
        throw Error(Errc::kInvalidArgument,
                    fmt::format("invalid format '{}': use json or csv", format.substr(0, 32)));
      }
      history::ValidateRange(range);
      history::HistoryReader reader(config_.history_db);
      auto result = reader.Query(selector, range);
      if (format == "csv") {
        Send(res, history::HistoryToCsv(result, range), "text/csv; charset=utf-8");
      } else {
        Send(res, history::HistoryToJson(result, range).dump() + "\n", "application/json");
      }
    } catch (const Error& e) {
      Text(res, 400, fmt::format("bad request: {}\n", e.what()));
    } catch (const history::DbError& e) {
      Text(res, 503, fmt::format("history unavailable: {}\n", e.what()));
    }
  });

  server_->Get("/stats/summary", [this](const httplib::Request& req, httplib::Response& res) {
    HttpAnswer a = SummaryEndpoint(config_.history_db, [&](const char* n, const char* fallback) {
      return Param(req, n, fallback);
    });
    res.status = a.status;
    Send(res, std::move(a.body), a.content_type);
  });

  server_->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    bool segment = collector_.Attached() != nullptr;
    bool history = collector_.HistoryHealthy();
    nlohmann::json j = {{"status", history ? "ok" : "degraded"},
                        {"segment", segment ? "attached" : "waiting"},
                        {"history", history ? "ok" : "failing"}};
    res.status = history ? 200 : 503;
    Send(res, j.dump() + "\n", "application/json");
  });

  server_->Post("/reset", [this](const httplib::Request& req, httplib::Response& res) {
    if (!config_.enable_reset) return Text(res, 403, "reset over HTTP is disabled\n");
    std::string auth = req.get_header_value("Authorization");
    if (!auth.starts_with("Bearer ") || !SameToken(auth.substr(7), config_.reset_token)) {
      res.set_header("WWW-Authenticate", "Bearer");
      return Text(res, 401, "a valid bearer token is required\n");
    }
    try {
      common::Selector selector = common::Selector::Parse(Param(req, "metric", ""));
      Segment segment = Segment::Open(config_.segment, Access::kReadWrite);
      auto reset = segment.Reset([&](const MetricSnapshot& m) { return selector.Matches(m); });
      Send(res, nlohmann::json({{"reset", reset.size()}}).dump() + "\n", "application/json");
    } catch (const Error& e) {
      Text(res, e.code() == Errc::kInvalidArgument ? 400 : 503, fmt::format("{}\n", e.what()));
    }
  });
}

}  // namespace shmstats::daemon
