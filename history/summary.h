// SPDX-License-Identifier: Apache-2.0
#pragma once

// Range summaries, as served by `statsctl history summary` and GET /stats/summary:
// one row per series (or per group) over the whole range (from, to]:
//
//   counter    increase, and rate = increase per second of the time the samples cover
//   gauge      min, avg (sample-weighted mean), max, last
//   histogram  count, sum, mean, p50/p90/p99 from the buckets merged over the range
//
// Grouping (`by`): a label name, or "instance", puts the series of one family (same
// name, type and bucket bounds) with the same value of that label in one row:
// increases, counts, sums and buckets add up; a counter's rate is the sum of the
// members' rates; a gauge's min/max/avg are over all the members' samples and its
// last is the sum of the members' last values (the group's current total). A series
// without the label falls in the group whose value is "".
//
// Errors: shmstats::Error(kInvalidArgument) for from >= to or a bad `by`;
// history::StoreError from the store.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/selector.h"
#include "history/accum.h"
#include "history/query.h"

namespace shmstats::history {

struct SummaryRow {
  SeriesInfo series;    // a group: name, type, bounds, and only the grouping label
  int64_t members = 0;  // series merged into this row
  Accum acc;            // merged over the range (and the members)
  double rate = 0;      // counter: sum of the members' rates (NaN when none covered time)
};

struct SummaryRequest {
  int64_t from_ms = 0;
  int64_t to_ms = 0;
  std::string by;  // "" (one row per series), "instance", or a label name
};

std::vector<SummaryRow> Summarize(HistoryReader& reader, const common::Selector& selector,
                                  const SummaryRequest& request);

// {"version":1,"from","to","by","series":[{name,labels,instance?,type,help,unit,members,
//   samples, ...type fields}]}  (docs/history.schema.json)
nlohmann::json SummaryToJson(const std::vector<SummaryRow>& rows, const SummaryRequest& request);
// name,labels,instance,type,members,samples,increase,rate,min,avg,max,last,count,sum,mean,p50,p90,p99
std::string SummaryToCsv(const std::vector<SummaryRow>& rows);

}  // namespace shmstats::history
