// SPDX-License-Identifier: Apache-2.0
#pragma once

// GET /stats/history and /stats/summary, bounded (daemon/history_query.h): the routes
// that read the history store.
//
//   ?metric=SELECTOR&from=&to=&step=&format=json|csv
//
// 400 with a message for a bad selector, time, step or format, and for a query over
// the bounds below; 503 when the database is unavailable, when the query runs past
// its time budget, or when the daemon is stopping.
//
// Thread-safety: each call opens its own database connection; calls may run
// concurrently.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "daemon/history_query.h"
#include "daemon/http/types.h"
#include "history/query.h"

namespace shmstats::daemon {

// `stopping` is polled while the query runs: true makes it give up (503).
void ServeHistory(const std::string& history_db, const HistoryLimits& limits,
                  const std::function<bool()>& stopping, const HttpRequest& req, HttpResponse& res);

// GET /stats/summary?metric=SELECTOR&from=&to=&by=LABEL|instance&format=json|csv: one
// row per series (or group) over the range (history/summary.h), under the same
// series bound, budget and answers as /stats/history (any range: one step).
void ServeSummary(const std::string& history_db, const HistoryLimits& limits,
                  const std::function<bool()>& stopping, const HttpRequest& req, HttpResponse& res);

}  // namespace shmstats::daemon
