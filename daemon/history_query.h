// SPDX-License-Identifier: Apache-2.0
#pragma once

// The bounded history query that /stats/history, /stats/summary and D-Bus GetHistory
// share: the range, series and points bounds checked before anything is read, a time
// budget, and a daemon that is stopping, each answered with a status and a message.
//
// Thread-safety: each call opens its own database connection; calls may run
// concurrently.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/selector.h"
#include "history/query.h"

namespace shmstats::daemon {

struct HistoryLimits {
  int64_t max_range_ms = 31LL * 24 * 3'600'000;  // to - from
  size_t max_series = 500;                       // series the selector matches
  int64_t max_points = 250'000;                  // series x steps
  std::chrono::milliseconds budget{5'000};       // time to run the query
};

// What a history query asks for, as the route's parameters give it.
struct HistoryParams {
  std::string selector;  // empty: every series
  std::string from = "-1h", to = "now", step = "1m";
};

// Runs the query of `params` under `limits` (the range, series and points bounds,
// checked before anything is read, and the time budget), and calls `answer` with its
// result. Returns 200, or 400 (bad input, over a bound) or 503 (store unavailable,
// past its budget, stopping) with `message` saying why and what to change.
int QueryHistory(const std::string& history_db, const HistoryLimits& limits,
                 const std::function<bool()>& stopping, const HistoryParams& params,
                 std::string& message,
                 const std::function<void(const std::vector<history::SeriesHistory>&,
                                          const history::QueryRange&)>& answer);

// Runs `query` on a reader of `history_db` under the budget of `limits` (polled with
// `stopping`), mapping its errors: 400 for bad input or a query over the bounds, 503
// for a store that cannot be read, a spent budget or a daemon that is stopping;
// `message` says which. Returns 200 when `query` returned.
int GuardedQuery(const std::string& history_db, const HistoryLimits& limits,
                 const std::function<bool()>& stopping, std::string& message,
                 const std::function<void(history::HistoryReader&)>& query);

// Throws Error(kInvalidArgument) when `range` over `series` series passes a bound.
void CheckHistoryBounds(const HistoryLimits& limits, const history::QueryRange& range,
                        size_t series);

// How many series of the store `selector` matches.
size_t MatchingSeries(history::HistoryReader& reader, const common::Selector& selector);

}  // namespace shmstats::daemon
