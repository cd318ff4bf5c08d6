// SPDX-License-Identifier: Apache-2.0
#include "daemon/http/server.h"

#include <fmt/format.h>
#include <malloc.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string_view>

#include "common/exposition.h"
#include "common/selector.h"
#include "daemon/http/dashboard.h"
#include "daemon/http/history.h"
#include "daemon/http/protobuf_exposition.h"
#include "daemon/log.h"
#include "daemon/mapped_read.h"
#include "history/storage_json.h"
#include "shmstats/error.h"

namespace shmstats::daemon {
namespace {

// True if `params` ("a=1; b=2") holds `param` as one of its items, blanks aside.
bool HasParam(std::string_view params, std::string_view param) {
  while (!params.empty()) {
    size_t semi = params.find(';');
    std::string_view item = params.substr(0, semi);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item == param) return true;
    params = semi == std::string_view::npos ? "" : params.substr(semi + 1);
  }
  return false;
}

// Content negotiation of /metrics (RFC 9110): the protobuf exposition format when
// the Accept header gives it (with proto=io.prometheus.client.MetricFamily and
// encoding=delimited) a quality above 0 and at least that of the text formats;
// else OpenMetrics when application/openmetrics-text has a quality above 0 and at
// least that of text/plain (or of text/* or */*, which text/plain satisfies); media
// types compare case-insensitively; a quality that is not a number in [0, 1] counts
// as 0. Prometheus sends
// "application/openmetrics-text;version=1.0.0;q=0.5,...,text/plain;version=0.0.4;q=0.3",
// and puts "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;
// encoding=delimited" first when native histograms are on.
enum MetricsFormat { kText, kOpenMetrics, kProtobuf };
MetricsFormat NegotiateMetrics(std::string_view accept) {
  double om = 0, text = 0, pb = 0;
  ForEachWeighted(accept, [&](std::string_view type, double q, std::string_view params) {
    if (SameIgnoringCase(type, "application/openmetrics-text")) om = std::max(om, q);
    if (SameIgnoringCase(type, "text/plain") || SameIgnoringCase(type, "text/*") || type == "*/*") {
      text = std::max(text, q);
    }
    if (SameIgnoringCase(type, "application/vnd.google.protobuf") &&
        HasParam(params, "proto=io.prometheus.client.MetricFamily") &&
        HasParam(params, "encoding=delimited")) {
      pb = std::max(pb, q);
    }
  });
  if (pb > 0 && pb >= om && pb >= text) return kProtobuf;
  return om > 0 && om >= text ? kOpenMetrics : kText;
}

bool SameToken(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() != b.size();
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ (i < b.size() ? b[i] : 0);
  return diff == 0;
}

}  // namespace

HttpLimits HttpServer::Limits() {
  HttpLimits limits;
  size_t wanted = limits.max_connections;
  limits.max_connections = ConnectionCap(wanted);
  if (limits.max_connections < wanted) {
    Log("warning", fmt::format("HTTP: at most {} connections (not {}): the descriptor limit "
                               "(LimitNOFILE, ulimit -n) keeps a reserve for the daemon's files",
                               limits.max_connections, wanted));
  }
  return limits;
}

HttpServer::HttpServer(const Config& config, Collector& collector)
    : config_(config),
      collector_(collector),
      server_(std::make_unique<HttpTransport>(Routes(), Limits())) {
  collector_.self_metrics().AddSource([t = server_.get()](std::vector<MetricSnapshot>& out) {
    MetricSnapshot m;
    m.type = MetricType::kCounter;
    m.name = "shmstatsd_http_connections_closed_total";
    m.help =
        "HTTP connections the daemon closed to keep its connection cap, by reason "
        "(idle: the longest idle one, for a new connection; refused: a new one, none idle)";
    m.labels = {{"reason", "idle"}};
    m.counter = t->idle_closed();
    out.push_back(m);
    m.labels = {{"reason", "refused"}};
    m.counter = t->refused();
    out.push_back(std::move(m));
  });
}

HttpServer::~HttpServer() = default;

int HttpServer::Bind() {
  return server_->Bind(config_.listen_host, config_.listen_port, config_.listen);
}

void HttpServer::Serve() { server_->Serve(); }

void HttpServer::Stop() { server_->Stop(); }

std::vector<HttpRoute> HttpServer::Routes() {
  using Req = const HttpRequest&;
  using Res = HttpResponse&;
  auto metrics = [this](Req req, Res res) {
    const MetricsFormat wanted = NegotiateMetrics(req.Header("Accept"));
    auto format =
        wanted == kOpenMetrics ? common::TextFormat::kOpenMetrics : common::TextFormat::kPrometheus;
    // Scrapes queued together share one render made after they arrived.
    auto body = metrics_[wanted].Get(req.received, [&] {
      auto pass = collector_.RenderPass();
      Snapshot snap;
      if (auto segment = collector_.Attached()) {
        try {
          SegmentInfo info;
          ReadMapped(config_.segment, [&] {
            snap = segment->Read();
            info = segment->Info();
          });
          collector_.self_metrics().SetSegment(info);
        } catch (const Error& e) {
          collector_.SegmentFailed(e);
        }
      }
      collector_.self_metrics().AddTo(snap);
      std::string text = wanted == kProtobuf ? ToProtobuf(snap) : common::ToText(snap, format);
      snap = {};
      // The snapshot's small pieces (a label set a series) were freed into this
      // thread's malloc arena, which keeps them resident until trimmed.
      malloc_trim(0);
      return text;
    });
    res.status = 200;
    res.shared_body = std::move(body);
    res.content_type = wanted == kProtobuf ? kProtobufContentType : common::ContentType(format);
  };
  return {
      {"GET", "/metrics", Lane::kScrape, metrics},
      // The same as /metrics, at the path other stats daemons serve it.
      {"GET", "/stats/prometheus", Lane::kScrape, metrics},

      // On the scrape lane: it may read the stats.json file (megabytes).
      {"GET", "/stats", Lane::kScrape,
       [this](Req, Res res) {
         auto doc = collector_.LatestStats();
         if (!doc) {
           return res.Set(503,
                          "no snapshot yet: the segment is missing or the "
                          "first tick has not run\n");
         }
         res.status = 200;
         res.shared_body = std::move(doc);
         res.content_type = "application/json";
       }},

      {"GET", "/stats/history", Lane::kQuery,
       [this](Req req, Res res) {
         ServeHistory(
             config_.history_db, HistoryLimits{}, [this] { return server_->stopping(); }, req, res);
       }},

      {"GET", "/", Lane::kInline,
       [](Req, Res res) {  // daemon/dashboard.h
         res.headers.emplace_back("Content-Security-Policy", kDashboardCsp);
         res.Set(200, std::string(DashboardPage()), kDashboardContentType);
       }},

      {"GET", "/stats/summary", Lane::kQuery,
       [this](Req req, Res res) {
         ServeSummary(
             config_.history_db, HistoryLimits{}, [this] { return server_->stopping(); }, req, res);
       }},

      {"GET", "/healthz", Lane::kInline,
       [this](Req, Res res) {
         // "ok" only while the daemon does its job: the segment attached (not
         // missing, refused or corrupt), the store taking writes, none of them stuck.
         bool segment = collector_.Attached() != nullptr;
         const int64_t writing_ms = collector_.HistoryWriteRunningMs();
         const bool stuck = collector_.HistoryWriteStuck();
         bool history = collector_.HistoryHealthy() && !stuck;
         nlohmann::json j = {{"status", segment && history ? "ok" : "degraded"},
                             {"segment", segment ? "attached" : "waiting"},
                             {"history", stuck     ? "stuck"
                                         : history ? "ok"
                                                   : "failing"},
                             {"history_write_running_ms", writing_ms}};
         auto backlog = collector_.HistoryBacklog();  // ticks waiting for the store
         j["backlog"] = {{"ticks", backlog.ticks}, {"bytes", backlog.bytes}};
         j["last_tick_unix_ms"] = collector_.LastTickMs();  // 0 before the first tick
         if (auto store = collector_.HistoryStorage()) {    // measured every 10 minutes
           j["store"] = history::StorageJson(store->stats);
           j["store"]["measured_unix_ms"] = store->taken_ms;
         }
         if (auto rw = collector_.RemoteWriteStatus()) {
           j["remote_write"] = {{"queued_samples", rw->queued_samples},
                                {"failing", rw->failures_in_row > 0}};
         }
         res.Set(segment && history ? 200 : 503, j.dump() + "\n", "application/json");
       }},

      // Readiness and liveness as Prometheus and Kubernetes probes expect them.
      {"GET", "/-/ready", Lane::kInline,
       [this](Req, Res res) {
         if (!collector_.Attached() || collector_.LastTickMs() == 0) {
           return res.Set(503,
                          "not ready: the segment is not attached or the first tick "
                          "has not run\n");
         }
         res.Set(200, "shmstatsd is ready\n");
       }},
      {"GET", "/-/healthy", Lane::kInline,
       [](Req, Res res) { res.Set(200, "shmstatsd is healthy\n"); }},

      {"POST", "/reset", Lane::kInline,
       [this](Req req, Res res) {
         if (!config_.enable_reset) return res.Set(403, "reset over HTTP is disabled\n");
         std::string auth = req.Header("Authorization");
         if (!auth.starts_with("Bearer ") || !SameToken(auth.substr(7), config_.reset_token)) {
           res.headers.emplace_back("WWW-Authenticate", "Bearer");
           return res.Set(401, "a valid bearer token is required\n");
         }
         try {
           common::Selector selector = common::Selector::Parse(req.Param("metric", ""));
           Segment segment = Segment::Open(config_.segment, Access::kReadWrite);
           auto reset = segment.Reset([&](const MetricSnapshot& m) { return selector.Matches(m); });
           res.Set(200, nlohmann::json({{"reset", reset.size()}}).dump() + "\n",
                   "application/json");
         } catch (const Error& e) {
           res.Set(e.code() == Errc::kInvalidArgument ? 400 : 503, fmt::format("{}\n", e.what()));
         }
       }},
  };
}

}  // namespace shmstats::daemon
