// SPDX-License-Identifier: Apache-2.0
#pragma once

// History queries over a time range and a step, as served by /stats/history and
// `statsctl history`: counters as increase and rate, gauges as min/avg/max/last,
// histograms as count, sum and quantiles of the buckets merged over each step.
//
// The engine runs over any Store (store.h): the one implementation of the query
// semantics for every store.
//
// Thread-safety: a HistoryReader belongs to one thread at a time; open one per
// thread or request. Errors: opening throws history::StoreError; Query throws
// shmstats::Error(kInvalidArgument) for a bad range and StoreError for the store.

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/selector.h"
#include "history/accum.h"
#include "history/store.h"

namespace shmstats::history {

class Store;

// At most this many points per series (7 days at 1m is 10,080).
inline constexpr int64_t kMaxPoints = 20'000;

// A query's range, checked once when it is made, so that no query sees a bad one.
struct QueryRange {
  // Throws Error(kInvalidArgument) when from > to or the range has more than
  // kMaxPoints steps.
  QueryRange(int64_t from, int64_t to, int64_t step);
  const int64_t from_ms;
  const int64_t to_ms;
  const int64_t step_ms;
};

// The range a user typed: --step/step= (ParseStep), --from/from= and --to/to=
// (ParseTime, relative to now_ms). Throws Error(kInvalidArgument) saying what to
// write instead.
QueryRange ParseRange(std::string_view from, std::string_view to, std::string_view step,
                      int64_t now_ms);

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
  // Opens the store at `location` (store.h: a SQLite path) read-only. Throws
  // StoreError when it is missing or unreadable.
  explicit HistoryReader(const std::string& location);
  explicit HistoryReader(std::unique_ptr<Store> store);
  ~HistoryReader();

  // Series matching `selector`, each with one point per step that has data. Raw
  // rows serve every step; for hours whose raw rows were pruned, hourly rollups
  // serve the steps that contain whole hours (1h and more).
  std::vector<SeriesHistory> Query(const common::Selector& selector, const QueryRange& range);

  // The steps first + k * step_ms (first <= start < end), each covering
  // (start, start + step_ms]: Query's epoch-aligned steps, or one step for a summary.
  std::vector<SeriesHistory> QuerySteps(const common::Selector& selector, int64_t first,
                                        int64_t end, int64_t step_ms);

  Store& store() { return *store_; }

 private:
  std::unique_ptr<Store> store_;
};

// The series' labels (sorted) with its instance name as an `instance` label, unless
// the series has one of its own or no instance was recorded.
Labels LabelsWithInstance(const SeriesInfo& s);

// True when `selector` matches the series with LabelsWithInstance().
bool MatchesSeries(const common::Selector& selector, const SeriesInfo& s);

// {"version":1,"from","to","step_seconds","series":[{name,labels,instance?,type,help,unit,
//   points:[{t, timestamp, ...type fields}]}]}
nlohmann::json HistoryToJson(const std::vector<SeriesHistory>& result, const QueryRange& range);
// time,name,labels,type,increase,rate,min,avg,max,last,count,sum,p50,p90,p99
std::string HistoryToCsv(const std::vector<SeriesHistory>& result, const QueryRange& range);

// CSV cells of the history CSV forms (RFC 4180): a field quoted when it holds
// , " CR or LF; a derived double (a rate, a quantile) formatted as in the text format,
// "" when not finite; a recorded gauge value exactly as in the text format, NaN,
// +Inf, -Inf and -0 included.
std::string CsvField(std::string_view s);
std::string CsvCell(double v);
std::string CsvValue(double v);
// The value columns of the query and summary CSV forms, then a newline:
// increase,rate,min,avg,max,last,count,sum,[mean,]p50,p90,p99 with the cells of the
// series' type filled and the others empty (`with_mean`: the summary's mean column).
void AppendCsvValues(std::string* out, const SeriesInfo& s, const Accum& a, double rate,
                     bool with_mean);

// The JSON of a series (name, labels, instance, type, help, unit), and a value's
// type fields (increase, rate / min, avg, max, last / count, sum, mean, p50...),
// shared by the query and summary JSON.
nlohmann::json SeriesJson(const SeriesInfo& s);
void AddValueFields(nlohmann::json& j, const SeriesInfo& s, const Accum& a, double rate);

// A point's derived values, shared by the JSON and CSV forms.
double PointRate(const Accum& a);  // increase per second of covered time; NaN if none
HistogramValue PointHistogram(const SeriesInfo& s, const Accum& a);

}  // namespace shmstats::history
