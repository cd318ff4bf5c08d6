// SPDX-License-Identifier: Apache-2.0
#pragma once

// Bulk export of raw history for cron jobs (`statsctl history export`): every
// series, every tick in the range.
//
//   csv          time,name,labels,instance,type,value,rate,count,sum,p50,p90,p99 (one
//                row per series per tick; counters: value = delta of the interval;
//                instance: the daemon's --instance, empty when not recorded)
//   json         {"version":1,"from","to","samples":[{t,timestamp,name,labels,instance,
//                type,...}]} (instance absent when not recorded)
//   openmetrics  timestamped OpenMetrics text ending in "# EOF", for
//                `promtool tsdb create-blocks-from openmetrics`: counters and
//                histogram buckets as running totals from the start of the range
//                (the history stores deltas), gauges as stored, timestamps in seconds.
//
// Errors: shmstats::Error(kInvalidArgument) for an unknown format or bad range,
// history::StoreError for the database. Output is written as it is produced.

#include <ostream>
#include <string_view>

#include "common/selector.h"
#include "history/query.h"

namespace shmstats::history {

enum class ExportFormat { kCsv, kJson, kOpenMetrics };

// "csv", "json" or "openmetrics"; throws Error(kInvalidArgument) otherwise.
ExportFormat ParseExportFormat(std::string_view text);

void Export(HistoryReader& reader, const common::Selector& selector, int64_t from_ms, int64_t to_ms,
            ExportFormat format, std::ostream& out);

}  // namespace shmstats::history
