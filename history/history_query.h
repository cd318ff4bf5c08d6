#pragma once

// History queries over a time range and a step, as served by /stats/history and
// `statsctl history`: counters as increase and rate, gauges as min/avg/max/last,
// histograms as count, sum and quantiles of the buckets merged over each step.
//
// Thread-safety: a HistoryReader belongs to one thread at a time; open one per
// thread or request. Errors: opening throws history::DbError; Query throws
// shmstats::Error(kInvalidArgument) for a bad range and DbError for the database.

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/selector.h"
#include "history_accum.h"
#include "history_schema.h"

namespace shmstats::history {

class Db;

struct QueryRange {
  int64_t from_ms = 0;
  int64_t to_ms = 0;
  int64_t step_ms = 60'000;
};

// At most this many points per series (7 days at 1m is 10,080).
inline constexpr int64_t kMaxPoints = 20'000;

struct HistoryPoint {
  int64_t start_ms = 0;  // the step covers (start_ms, start_ms + step_ms]
  Accum acc;
};

struct SeriesHistory {
  SeriesInfo series;
  std::vector<HistoryPoint> points;  // steps with data, in time order
};

class HistoryReader {
 public:
  // Opens the database read-only. Throws DbError when it is missing or unreadable.
  explicit HistoryReader(const std::string& path);
  ~HistoryReader();

  // Series matching `selector`, each with one point per step that has data. Raw
  // rows serve every step; for hours whose raw rows were pruned, hourly rollups
  // serve steps of 1h and more.
  std::vector<SeriesHistory> Query(const common::Selector& selector, const QueryRange& range);

  Db& db() { return *db_; }

 private:
  std::unique_ptr<Db> db_;
};

// Throws Error(kInvalidArgument) when from > to or the range has too many steps.
void ValidateRange(const QueryRange& range);

// {"version":1,"from","to","step_seconds","series":[{name,labels,type,help,unit,
//   points:[{t, timestamp, ...type fields}]}]}
nlohmann::json HistoryToJson(const std::vector<SeriesHistory>& result, const QueryRange& range);
// time,name,labels,type,increase,rate,min,avg,max,last,count,sum,p50,p90,p99
std::string HistoryToCsv(const std::vector<SeriesHistory>& result, const QueryRange& range);

// CSV cells of the history CSV forms (RFC 4180): a field quoted when it holds
// , " CR or LF; a double formatted as in the text format, "" when not finite.
std::string CsvField(std::string_view s);
std::string CsvCell(double v);

// A point's derived values, shared by the JSON and CSV forms.
double PointRate(const Accum& a);  // increase per second of covered time; NaN if none
HistogramValue PointHistogram(const SeriesInfo& s, const Accum& a);

}  // namespace shmstats::history
