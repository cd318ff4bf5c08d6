// SPDX-License-Identifier: Apache-2.0
#include "daemon/http/history.h"

#include <fmt/format.h>

#include "common/selector.h"
#include "daemon/http/dashboard_data.h"
#include "history/query.h"
#include "history/store.h"
#include "history/summary.h"
#include "history/time.h"
#include "shmstats/error.h"

namespace shmstats::daemon {
namespace {

// Guarded, answering over HTTP: the error's message as the body.
void Guarded(const std::string& history_db, const HistoryLimits& limits,
             const std::function<bool()>& stopping, HttpResponse& res,
             const std::function<void(history::HistoryReader&)>& query) {
  std::string message;
  if (int status = GuardedQuery(history_db, limits, stopping, message, query); status != 200) {
    res.Set(status, message + "\n");
  }
}

common::Selector SelectorParam(const HttpRequest& req) {
  std::string metric = req.Param("metric", "");
  return metric.empty() ? common::Selector() : common::Selector::Parse(metric);
}

std::string FormatParam(const HttpRequest& req) {
  std::string format = req.Param("format", "json");
  if (format != "json" && format != "csv") {
    throw Error(Errc::kInvalidArgument,
                fmt::format("invalid format '{}': use json or csv", format.substr(0, 32)));
  }
  return format;
}

}  // namespace

void ServeHistory(const std::string& history_db, const HistoryLimits& limits,
                  const std::function<bool()>& stopping, const HttpRequest& req,
                  HttpResponse& res) {
  std::string format;
  try {
    format = FormatParam(req);
  } catch (const Error& e) {
    return res.Set(400, fmt::format("bad request: {}\n", e.what()));
  }
  HistoryParams params{req.Param("metric", ""), req.Param("from", "-1h"), req.Param("to", "now"),
                       req.Param("step", "1m")};
  std::string message;
  int status = QueryHistory(history_db, limits, stopping, params, message,
                            [&](const auto& result, const history::QueryRange& range) {
                              if (format == "csv") {
                                res.Set(200, history::HistoryToCsv(result, range),
                                        "text/csv; charset=utf-8");
                              } else {
                                nlohmann::json doc = history::HistoryToJson(result, range);
                                if (req.Param("buckets", "") == "1")
                                  AddPointBuckets(result, &doc);  // dashboard heatmap
                                res.Set(200, doc.dump() + "\n", "application/json");
                              }
                            });
  if (status != 200) res.Set(status, message + "\n");
}

void ServeSummary(const std::string& history_db, const HistoryLimits& limits,
                  const std::function<bool()>& stopping, const HttpRequest& req,
                  HttpResponse& res) {
  Guarded(history_db, limits, stopping, res, [&](history::HistoryReader& reader) {
    const int64_t now = history::NowMs();
    auto selector = SelectorParam(req);
    history::SummaryRequest request{history::ParseTime(req.Param("from", "-1h"), now),
                                    history::ParseTime(req.Param("to", "now"), now),
                                    req.Param("by", "")};
    std::string format = FormatParam(req);
    // One step over the whole range, however long (a summary of a year is one
    // row per series): the series bound and the time budget limit its cost.
    CheckHistoryBounds(limits, history::QueryRange{0, 0, 1}, MatchingSeries(reader, selector));
    auto rows = history::Summarize(reader, selector, request);
    if (format == "csv") {
      res.Set(200, history::SummaryToCsv(rows), "text/csv; charset=utf-8");
    } else {
      res.Set(200, history::SummaryToJson(rows, request).dump() + "\n", "application/json");
    }
  });
}

}  // namespace shmstats::daemon
