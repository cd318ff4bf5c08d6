#include "http_history.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include "common/selector.h"
#include "dashboard_data.h"
#include "history_query.h"
#include "history_schema.h"
#include "history_time.h"
#include "shmstats/error.h"
#include "sqlite_db.h"

namespace shmstats::daemon {
namespace {

// SQLite's progress handler: interrupts the query once its budget is spent or the
// daemon is stopping (the statement then fails with SQLITE_INTERRUPT).
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

void ServeHistory(const std::string& history_db, const HistoryLimits& limits,
                  const std::function<bool()>& stopping, const HttpRequest& req,
                  HttpResponse& res) {
  Budget budget{std::chrono::steady_clock::now() + limits.budget, &stopping};
  try {
    int64_t now = history::NowMs();
    std::string metric = req.Param("metric", "");
    auto selector = metric.empty() ? common::Selector() : common::Selector::Parse(metric);
    history::QueryRange range;
    range.step_ms = history::ParseStep(req.Param("step", "1m"));
    range.from_ms = history::ParseTime(req.Param("from", "-1h"), now);
    range.to_ms = history::ParseTime(req.Param("to", "now"), now);
    std::string format = req.Param("format", "json");
    if (format != "json" && format != "csv") {
      throw Error(Errc::kInvalidArgument,
                  fmt::format("invalid format '{}': use json or csv", format.substr(0, 32)));
    }
    history::ValidateRange(range);
    history::HistoryReader reader(history_db);
    size_t matched = 0;
    for (const auto& s : history::LoadSeries(reader.db())) matched += selector.Matches(s.metric);
    Bounds(limits, range, matched);
    sqlite3_progress_handler(reader.db().raw(), 1000, CheckBudget, &budget);
    auto result = reader.Query(selector, range);
    sqlite3_progress_handler(reader.db().raw(), 0, nullptr, nullptr);
    if (format == "csv") {
      res.Set(200, history::HistoryToCsv(result, range), "text/csv; charset=utf-8");
    } else {
      nlohmann::json doc = history::HistoryToJson(result, range);
      if (req.Param("buckets", "") == "1") AddPointBuckets(result, &doc);  // dashboard heatmap
      res.Set(200, doc.dump() + "\n", "application/json");
    }
  } catch (const Error& e) {
    res.Set(400, fmt::format("bad request: {}\n", e.what()));
  } catch (const history::DbError& e) {
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

}  // namespace shmstats::daemon
