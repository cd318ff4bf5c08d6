// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the dashboard needs beyond the history JSON: with ?buckets=1, GET
// /stats/history adds to every histogram point its non-empty buckets merged over
// the step, not cumulative: "buckets": [{"le": 0.5, "count": 3}, {"le": "+Inf", ...}]
// (docs/history.schema.json), from which the page draws its heatmap.

#include <nlohmann/json.hpp>
#include <vector>

#include "history/query.h"

namespace shmstats::daemon {

// `doc` is HistoryToJson(result, ...): its series and points are in result's order.
void AddPointBuckets(const std::vector<history::SeriesHistory>& result, nlohmann::json* doc);

}  // namespace shmstats::daemon
