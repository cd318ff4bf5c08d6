// SPDX-License-Identifier: Apache-2.0
#include "history/postgres/store.h"

#include <climits>
#include <nlohmann/json.hpp>

#include "history/codec.h"
#include "history/postgres/conn.h"
#include "history/postgres/schema.h"
#include "history/postgres/writer.h"

namespace shmstats::history {
namespace {

class PgStore final : public Store {
 public:
  explicit PgStore(const std::string& url) : pg_(url, kDefaultWriteTimeoutMs) {
    rollups_ = HasPgRollups(pg_);
  }

  std::vector<SeriesInfo> Series() override {
    auto r = pg_.Exec(
        "SELECT id, instance, name, labels, type, bounds, precision, help, unit "
        "FROM shmstats_series ORDER BY name, type, labels, instance");
    std::vector<SeriesInfo> out;
    for (int i = 0; i < r->Rows(); ++i) {
      SeriesInfo s;
      s.id = r->Int(i, 0);
      s.instance = r->Text(i, 1);
      s.metric.name = r->Text(i, 2);
      auto labels = nlohmann::json::parse(r->Text(i, 3), nullptr, false);
      if (labels.is_object()) {
        for (auto& [k, v] : labels.items()) {
          if (v.is_string()) s.metric.labels.emplace_back(k, v.get<std::string>());
        }
      }
      int64_t type = r->Int(i, 4);
      if (type < 1 || type > 3) continue;
      s.metric.type = static_cast<MetricType>(type);
      s.metric.histogram.bounds = DecodeBounds(PgUnhex(r->Text(i, 5)));
      ApplyLayoutWord(s.metric.histogram, static_cast<int32_t>(r->Int(i, 6)));
      s.metric.help = r->Text(i, 7);
      s.metric.unit = r->Text(i, 8);
      out.push_back(std::move(s));
    }
    return out;
  }

  // The end of the last dropped daily partition: rollups serve the hours before it.
  int64_t RawPrunedUntil() override {
    return rollups_ ? GetPgState(pg_, "raw_pruned_until_ms", INT64_MIN) : INT64_MIN;
  }

  void ScanRaw(const SeriesInfo& s, int64_t after_ms, int64_t until_ms, const RawFn& f) override {
    auto r = pg_.Exec(
        "SELECT ts_ms, interval_ms, delta, gauge, buckets FROM shmstats_samples "
        "WHERE series = $1 AND ts_ms > $2 AND ts_ms <= $3 ORDER BY ts_ms",
        {std::to_string(s.id), std::to_string(after_ms), std::to_string(until_ms)});
    std::string blob;
    for (int i = 0; i < r->Rows(); ++i) f(r->Int(i, 0), r->Int(i, 1), Value(*r, i, 2, blob));
  }

  void ScanRollups(const SeriesInfo& s, int64_t from_hour, int64_t to_hour,
                   const RollupFn& f) override {
    if (!rollups_) return;
    auto r = pg_.Exec(
        "SELECT hour, n, ms, delta, gauge, buckets, mn, mx, mean FROM shmstats_rollups "
        "WHERE series = $1 AND hour >= $2 AND hour < $3 ORDER BY hour",
        {std::to_string(s.id), std::to_string(from_hour), std::to_string(to_hour)});
    std::string blob;
    for (int i = 0; i < r->Rows(); ++i) {
      StoredRollup roll{r->Int(i, 1), r->Int(i, 2), Value(*r, i, 3, blob)};
      if (!r->Null(i, 6)) roll.min = r->Double(i, 6);
      if (!r->Null(i, 7)) roll.max = r->Double(i, 7);
      if (!r->Null(i, 8)) roll.mean = r->Double(i, 8);
      f(r->Int(i, 0), roll);
    }
  }

  void ScanTicks(int64_t from_ms, int64_t to_ms, const TickRowFn& f) override {
    auto r = pg_.Exec(
        "SELECT ts_ms, interval_ms, series, delta, gauge, buckets FROM shmstats_samples "
        "WHERE ts_ms >= $1 AND ts_ms <= $2 ORDER BY ts_ms, series",
        {std::to_string(from_ms), std::to_string(to_ms)});
    std::string blob;
    for (int i = 0; i < r->Rows(); ++i) {
      f(r->Int(i, 0), r->Int(i, 1), r->Int(i, 2), Value(*r, i, 3, blob));
    }
  }

  StorageStats Stats() override { return PgStats(pg_); }

  void SetInterrupt(std::function<bool()> stop) override { pg_.SetStop(std::move(stop)); }

 private:
  // Columns col, col+1, col+2: delta, gauge, buckets (the blob is kept in `blob`).
  static StoredValue Value(const PgResult& r, int row, int col, std::string& blob) {
    StoredValue v;
    if (!r.Null(row, col)) v.delta = static_cast<uint64_t>(r.Int(row, col));
    if (!r.Null(row, col + 1)) v.gauge = r.Double(row, col + 1);
    if (!r.Null(row, col + 2)) {
      blob = PgUnhex(r.Text(row, col + 2));
      v.blob = blob;
    }
    return v;
  }
  PgConn pg_;
  bool rollups_ = false;
};

}  // namespace
}  // namespace shmstats::history

shmstats::history::Store* shmstats_history_pg_open_store(const char* url) {
  return new shmstats::history::PgStore(url);
}

shmstats::history::StoreWriter* shmstats_history_pg_open_writer(const char* url,
                                                                const char* instance,
                                                                int64_t timeout_ms) {
  return new shmstats::history::PgWriter(url, instance, timeout_ms);
}
