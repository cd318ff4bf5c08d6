// SPDX-License-Identifier: Apache-2.0
#include "daemon/history_query.h"

#include <fmt/format.h>

#include "history/store.h"
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

}  // namespace

void CheckHistoryBounds(const HistoryLimits& limits, const history::QueryRange& range,
                        size_t series) {
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

int GuardedQuery(const std::string& history_db, const HistoryLimits& limits,
                 const std::function<bool()>& stopping, std::string& message,
                 const std::function<void(history::HistoryReader&)>& query) {
  Budget budget{std::chrono::steady_clock::now() + limits.budget, &stopping};
  try {
    history::HistoryReader reader(history_db);
    reader.store().SetInterrupt([&budget] { return CheckBudget(&budget) != 0; });
    query(reader);
    reader.store().SetInterrupt(nullptr);
    return 200;
  } catch (const Error& e) {
    message = fmt::format("bad request: {}", e.what());
    return 400;
  } catch (const history::StoreError& e) {
    if (budget.stopped) {
      message = "shutting down";
    } else if (budget.expired) {
      message = fmt::format(
          "history query ran past its {} ms budget: use a larger step, a "
          "shorter range or a narrower selector",
          limits.budget.count());
    } else {
      message = fmt::format("history unavailable: {}", e.what());
    }
    return 503;
  }
}

size_t MatchingSeries(history::HistoryReader& reader, const common::Selector& selector) {
  size_t matched = 0;
  for (const auto& s : reader.store().Series()) matched += history::MatchesSeries(selector, s);
  return matched;
}

int QueryHistory(const std::string& history_db, const HistoryLimits& limits,
                 const std::function<bool()>& stopping, const HistoryParams& params,
                 std::string& message,
                 const std::function<void(const std::vector<history::SeriesHistory>&,
                                          const history::QueryRange&)>& answer) {
  return GuardedQuery(history_db, limits, stopping, message, [&](history::HistoryReader& reader) {
    int64_t now = history::NowMs();
    auto selector =
        params.selector.empty() ? common::Selector() : common::Selector::Parse(params.selector);
    const auto range = history::ParseRange(params.from, params.to, params.step, now);
    CheckHistoryBounds(limits, range, MatchingSeries(reader, selector));
    answer(reader.Query(selector, range), range);
  });
}

}  // namespace shmstats::daemon
