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

// Polled by the store while the query runs (Store::SetInterrupt): interrupts it once
// its budget is spent or the daemon is stopping (the store then throws StoreError).
struct Budget {
  std::chrono::steady_clock::time_point deadline;
  const std::function<bool()>* stopping;
  bool expired = false;
  bool stopped = false;
};

int CheckBudget(void* arg) {
  auto* b = static_cast<Budget*>(arg);
  if ((*b->stopping)()) b->stopped = true;
  if (std::chrono::steady_clock::now() > b->deadline) b->expired = true;
  return b->stopped || b->expired;
}

void Bounds(const HistoryLimits& limits, const history::QueryRange& range, size_t series) {
  if (range.to_ms - range.from_ms > limits.max_range_ms) {
    throw Error(Errc::kInvalidArgument,
                fmt::format("range longer than {} days: query a shorter range",
                            limits.max_range_ms / (24 * 3'600'000)));
  }
  if (series > limits.max_series) {
    throw Error(Errc::kInvalidArgument,
                fmt::format("the selector matches {} series, more than {}: narrow it with a "
                            "label matcher",
                            series, limits.max_series));
  }
  int64_t steps = (range.to_ms - range.from_ms) / range.step_ms + 1;
  if (static_cast<int64_t>(series) * steps > limits.max_points) {
    throw Error(Errc::kInvalidArgument,
                fmt::format("{} series x {} steps is more than {} points: use a larger step, a "
                            "shorter range or a narrower selector",
                            series, steps, limits.max_points));
  }
}

}  // namespace

namespace {

// Runs `query` on a reader of `history_db` with the interrupt armed, and maps its
// errors: 400 for bad input or a query over the bounds, 503 for a store that cannot
// be read, a spent budget or a daemon that is stopping.
void Guarded(const std::string& history_db, const HistoryLimits& limits,
             const std::function<bool()>& stopping, HttpResponse& res,
             const std::function<void(history::HistoryReader&)>& query) {
  Budget budget{std::chrono::steady_clock::now() + limits.budget, &stopping};
  try {
    history::HistoryReader reader(history_db);
    reader.store().SetInterrupt([&budget] { return CheckBudget(&budget) != 0; });
    query(reader);
    reader.store().SetInterrupt(nullptr);
  } catch (const Error& e) {
    res.Set(400, fmt::format("bad request: {}\n", e.what()));
  } catch (const history::StoreError& e) {
    if (budget.stopped) {
      res.Set(503, "shutting down\n");
    } else if (budget.expired) {
      res.Set(503, fmt::format("history query ran past its {} ms budget: use a larger step, a "
                               "shorter range or a narrower selector\n",
                               limits.budget.count()));
    } else {
      res.Set(503, fmt::format("history unavailable: {}\n", e.what()));
    }
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

size_t Matching(history::HistoryReader& reader, const common::Selector& selector) {
  size_t matched = 0;
  for (const auto& s : reader.store().Series()) matched += history::MatchesSeries(selector, s);
  return matched;
}

}  // namespace

void ServeHistory(const std::string& history_db, const HistoryLimits& limits,
                  const std::function<bool()>& stopping, const HttpRequest& req,
                  HttpResponse& res) {
  Guarded(history_db, limits, stopping, res, [&](history::HistoryReader& reader) {
    int64_t now = history::NowMs();
    auto selector = SelectorParam(req);
    const auto range = history::ParseRange(req.Param("from", "-1h"), req.Param("to", "now"),
                                           req.Param("step", "1m"), now);
    std::string format = FormatParam(req);
    Bounds(limits, range, Matching(reader, selector));
    auto result = reader.Query(selector, range);
    if (format == "csv") {
      res.Set(200, history::HistoryToCsv(result, range), "text/csv; charset=utf-8");
    } else {
      nlohmann::json doc = history::HistoryToJson(result, range);
      if (req.Param("buckets", "") == "1") AddPointBuckets(result, &doc);  // dashboard heatmap
      res.Set(200, doc.dump() + "\n", "application/json");
    }
  });
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
    Bounds(limits, history::QueryRange{0, 0, 1}, Matching(reader, selector));
    auto rows = history::Summarize(reader, selector, request);
    if (format == "csv") {
      res.Set(200, history::SummaryToCsv(rows), "text/csv; charset=utf-8");
    } else {
      res.Set(200, history::SummaryToJson(rows, request).dump() + "\n", "application/json");
    }
  });
}

}  // namespace shmstats::daemon
