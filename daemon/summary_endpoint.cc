#include "summary_endpoint.h"

#include <fmt/format.h>

#include "common/selector.h"
#include "history_summary.h"
#include "history_time.h"
#include "shmstats/error.h"
#include "sqlite_db.h"

namespace shmstats::daemon {

HttpAnswer SummaryEndpoint(const std::string& history_location, const ParamFn& param) {
  try {
    const int64_t now = history::NowMs();
    const std::string metric = param("metric", "");
    auto selector = metric.empty() ? common::Selector() : common::Selector::Parse(metric);
    history::SummaryRequest request{history::ParseTime(param("from", "-1h"), now),
                                    history::ParseTime(param("to", "now"), now), param("by", "")};
    const std::string format = param("format", "json");
    if (format != "json" && format != "csv") {
      throw Error(Errc::kInvalidArgument,
                  fmt::format("invalid format '{}': use json or csv", format.substr(0, 32)));
    }
    history::HistoryReader reader(history_location);
    auto rows = history::Summarize(reader, selector, request);
    if (format == "csv") return {200, history::SummaryToCsv(rows), "text/csv; charset=utf-8"};
    return {200, history::SummaryToJson(rows, request).dump() + "\n", "application/json"};
  } catch (const Error& e) {
    return {400, fmt::format("bad request: {}\n", e.what())};
  } catch (const history::DbError& e) {
    return {503, fmt::format("history unavailable: {}\n", e.what())};
  }
}

}  // namespace shmstats::daemon
