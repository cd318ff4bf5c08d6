#include "history_accum.h"

#include <algorithm>
#include <numeric>

#include "history_codec.h"
#include "sqlite_db.h"

namespace shmstats::history {

void Accum::Init(MetricType t, size_t buckets) {
  *this = Accum();
  type = t;
  if (t == MetricType::kHistogram) counts.assign(buckets, 0);
}

bool Accum::AddRaw(const Stmt& row, int col, int64_t interval_ms) {
  switch (type) {
    case MetricType::kCounter:
      increase += static_cast<uint64_t>(row.Int(col));
      break;
    case MetricType::kGauge: {
      double v = row.Double(col);
      min = std::min(min, v);
      max = std::max(max, v);
      sum += v;
      last = v;
      break;
    }
    case MetricType::kHistogram:
      if (!DecodeBucketsInto(row.Blob(col), counts, sum)) return false;
      break;
  }
  ++samples;
  covered_ms += interval_ms;
  return true;
}

bool Accum::AddRollup(const Stmt& row, int col) {
  int64_t n = row.Int(col);
  int64_t ms = row.Int(col + 1);
  switch (type) {
    case MetricType::kCounter:
      increase += static_cast<uint64_t>(row.Int(col + 2));
      break;
    case MetricType::kGauge:
      last = row.Double(col + 2);
      min = std::min(min, row.Double(col + 3));
      max = std::max(max, row.Double(col + 4));
      sum += row.Double(col + 5);
      break;
    case MetricType::kHistogram:
      if (!DecodeBucketsInto(row.Blob(col + 2), counts, sum)) return false;
      break;
  }
  samples += n;
  covered_ms += ms;
  return true;
}

uint64_t Accum::Count() const { return std::accumulate(counts.begin(), counts.end(), uint64_t{0}); }

}  // namespace shmstats::history
