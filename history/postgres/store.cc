// SPDX-License-Identifier: Apache-2.0
#include "history/postgres/store.h"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "common/exposition.h"
#include "history/codec.h"
#include "history/series_ids.h"

namespace shmstats::history {
namespace {

constexpr int64_t kDayMs = 24 * kHourMs;

// Every value goes in as a bound text parameter: nothing a user typed is pasted
// into SQL.
class Result {
 public:
  explicit Result(PGresult* r) : r_(r) {}
  Result(const Result&) = delete;
  ~Result() { PQclear(r_); }
  int Rows() const { return PQntuples(r_); }
  bool Null(int row, int col) const { return PQgetisnull(r_, row, col); }
  std::string_view Text(int row, int col) const {
    return {PQgetvalue(r_, row, col), static_cast<size_t>(PQgetlength(r_, row, col))};
  }
  int64_t Int(int row, int col) const {
    return std::strtoll(PQgetvalue(r_, row, col), nullptr, 10);
  }
  double Double(int row, int col) const { return std::strtod(PQgetvalue(r_, row, col), nullptr); }

 private:
  PGresult* r_;
};

class Pg {
 public:
  explicit Pg(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) {
      std::string msg = PQerrorMessage(conn_);
      PQfinish(conn_);
      throw StoreError(StoreError::Kind::kUnavailable, fmt::format("PostgreSQL: {}", Trim(msg)));
    }
    // NOTICEs ("relation ... already exists, skipping" on every tick) are not errors:
    // libpq's default prints them on stderr, which is the daemon's log.
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
  }
  ~Pg() { PQfinish(conn_); }

  std::unique_ptr<Result> Exec(const std::string& sql,
                               const std::vector<std::string>& params = {}) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    PGresult* r = PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                               values.data(), nullptr, nullptr, 0);
    auto status = PQresultStatus(r);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      std::string msg = PQresultErrorMessage(r);
      PQclear(r);
      throw StoreError(StoreError::Kind::kUnavailable, fmt::format("PostgreSQL: {}", Trim(msg)));
    }
    return std::make_unique<Result>(r);
  }

 private:
  static std::string Trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }
  PGconn* conn_;
};

std::string Hex(std::string_view bytes) {
  std::string out = "\\x";
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

std::string Unhex(std::string_view text) {  // "\x0102..." as PostgreSQL prints bytea
  std::string out;
  if (text.substr(0, 2) != "\\x") return out;
  for (size_t i = 2; i + 1 < text.size(); i += 2) {
    out += static_cast<char>(std::stoi(std::string(text.substr(i, 2)), nullptr, 16));
  }
  return out;
}

std::string Float(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return fmt::format("{}", v);  // shortest text that reads back as the same double
}

void EnsurePgSchema(Pg& pg) {
  pg.Exec(R"sql(
    CREATE TABLE IF NOT EXISTS shmstats_series(
      id BIGSERIAL PRIMARY KEY, instance TEXT NOT NULL, name TEXT NOT NULL,
      labels TEXT NOT NULL, type INTEGER NOT NULL, bounds BYTEA NOT NULL,
      precision INTEGER NOT NULL, help TEXT NOT NULL, unit TEXT NOT NULL,
      UNIQUE(instance, name, labels, type, bounds))
  )sql");
  pg.Exec(R"sql(
    CREATE TABLE IF NOT EXISTS shmstats_samples(
      ts_ms BIGINT NOT NULL, series BIGINT NOT NULL, interval_ms BIGINT NOT NULL,
      delta BIGINT, gauge DOUBLE PRECISION, buckets BYTEA,
      PRIMARY KEY(series, ts_ms)) PARTITION BY RANGE (ts_ms)
  )sql");
}

class PgStore final : public Store {
 public:
  explicit PgStore(const std::string& url) : pg_(url) {}

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
      s.metric.histogram.bounds = DecodeBounds(Unhex(r->Text(i, 5)));
      ApplyLayoutWord(s.metric.histogram, static_cast<int32_t>(r->Int(i, 6)));
      s.metric.help = r->Text(i, 7);
      s.metric.unit = r->Text(i, 8);
      out.push_back(std::move(s));
    }
    return out;
  }

  // Whole partitions are dropped; there are no rollups to serve what they held.
  int64_t RawPrunedUntil() override { return INT64_MIN; }

  void ScanRaw(const SeriesInfo& s, int64_t after_ms, int64_t until_ms, const RawFn& f) override {
    auto r = pg_.Exec(
        "SELECT ts_ms, interval_ms, delta, gauge, buckets FROM shmstats_samples "
        "WHERE series = $1 AND ts_ms > $2 AND ts_ms <= $3 ORDER BY ts_ms",
        {std::to_string(s.id), std::to_string(after_ms), std::to_string(until_ms)});
    for (int i = 0; i < r->Rows(); ++i) {
      std::string blob;
      StoredValue v = Value(*r, i, 2, blob);
      f(r->Int(i, 0), r->Int(i, 1), v);
    }
  }

  void ScanRollups(const SeriesInfo&, int64_t, int64_t, const RollupFn&) override {}

  void ScanTicks(int64_t from_ms, int64_t to_ms, const TickRowFn& f) override {
    auto r = pg_.Exec(
        "SELECT ts_ms, interval_ms, series, delta, gauge, buckets FROM shmstats_samples "
        "WHERE ts_ms >= $1 AND ts_ms <= $2 ORDER BY ts_ms, series",
        {std::to_string(from_ms), std::to_string(to_ms)});
    for (int i = 0; i < r->Rows(); ++i) {
      std::string blob;
      StoredValue v = Value(*r, i, 3, blob);
      f(r->Int(i, 0), r->Int(i, 1), r->Int(i, 2), v);
    }
  }

 private:
  static StoredValue Value(const Result& r, int row, int col, std::string& blob) {
    StoredValue v;
    if (!r.Null(row, col)) v.delta = static_cast<uint64_t>(r.Int(row, col));
    if (!r.Null(row, col + 1)) v.gauge = r.Double(row, col + 1);
    if (!r.Null(row, col + 2)) {
      blob = Unhex(r.Text(row, col + 2));
      v.blob = blob;
    }
    return v;
  }
  Pg pg_;
};

class PgWriter final : public StoreWriter {
 public:
  PgWriter(const std::string& url, std::string instance)
      : pg_(url), instance_(std::move(instance)) {
    EnsurePgSchema(pg_);
  }

  WriteResult Write(const TickRecord& tick, const Retention& retention) override {
    WriteResult result;
    pg_.Exec("BEGIN");
    try {
      const int64_t day = (tick.unix_ms - 1) / kDayMs;
      pg_.Exec(fmt::format(
          "CREATE TABLE IF NOT EXISTS shmstats_samples_d{} PARTITION OF shmstats_samples "
          "FOR VALUES FROM ({}) TO ({})",
          day, day * kDayMs + 1, (day + 1) * kDayMs + 1));
      std::string ts, series, interval, delta, gauge, buckets;
      const SeriesIds::Insert insert = [this](const MetricSnapshot& m) { return InsertSeries(m); };
      for (size_t i = 0; i < tick.samples.size(); ++i) {
        const MetricSnapshot& m = tick.samples[i];
        const char* sep = ts.empty() ? "" : ",";
        ts += sep + std::to_string(tick.unix_ms);
        series += sep + std::to_string(ids_.Find(m, tick.Identity(i), insert));
        interval += sep + std::to_string(tick.interval_ms);
        delta +=
            sep + (m.type == MetricType::kCounter ? std::to_string(static_cast<int64_t>(m.counter))
                                                  : std::string("NULL"));
        gauge += sep + (m.type == MetricType::kGauge ? Float(m.gauge) : std::string("NULL"));
        buckets +=
            sep + (m.type == MetricType::kHistogram
                       ? "\"\\" + Hex(EncodeBuckets(m.histogram.counts, m.histogram.sum)) + "\""
                       : std::string("NULL"));
      }
      if (!ts.empty()) {
        // One statement per tick; a tick sent again inserts nothing.
        auto r = pg_.Exec(
            "INSERT INTO shmstats_samples(ts_ms, series, interval_ms, delta, gauge, buckets) "
            "SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], "
            "$5::float8[], $6::bytea[]) ON CONFLICT (series, ts_ms) DO NOTHING",
            {"{" + ts + "}", "{" + series + "}", "{" + interval + "}", "{" + delta + "}",
             "{" + gauge + "}", "{" + buckets + "}"});
      }
      result.rows = static_cast<int64_t>(tick.samples.size());
      result.pruned_rows = DropOldPartitions(tick.unix_ms, retention);
      pg_.Exec("COMMIT");
    } catch (...) {
      try {
        pg_.Exec("ROLLBACK");
      } catch (...) {
      }
      ids_.Clear();
      throw;
    }
    return result;
  }

 private:
  int64_t InsertSeries(const MetricSnapshot& m) {
    const bool hist = m.type == MetricType::kHistogram;
    std::vector<std::string> p = {instance_,
                                  m.name,
                                  common::LabelsJson(m.labels).dump(),
                                  std::to_string(static_cast<int>(m.type)),
                                  Hex(hist ? EncodeBounds(m.histogram.bounds) : std::string()),
                                  std::to_string(hist ? LayoutWord(m.histogram) : 0),
                                  m.help,
                                  m.unit};
    pg_.Exec(
        "INSERT INTO shmstats_series(instance, name, labels, type, bounds, precision, help, unit) "
        "VALUES($1, $2, $3, $4, $5::bytea, $6, $7, $8) ON CONFLICT DO NOTHING",
        p);
    auto r = pg_.Exec(
        "SELECT id FROM shmstats_series WHERE instance = $1 AND name = $2 AND labels = $3 "
        "AND type = $4 AND bounds = $5::bytea",
        {p[0], p[1], p[2], p[3], p[4]});
    if (r->Rows() != 1)
      throw StoreError(StoreError::Kind::kUnavailable,
                       "PostgreSQL: series row not found after insert");
    return r->Int(0, 0);
  }

  // Drops every daily partition that ends before the raw retention.
  int64_t DropOldPartitions(int64_t now_ms, const Retention& retention) {
    const int64_t keep_from_day = (now_ms - retention.raw_ms) / kDayMs;
    auto r = pg_.Exec(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'shmstats_samples'::regclass");
    int64_t dropped = 0;
    for (int i = 0; i < r->Rows(); ++i) {
      std::string name(r->Text(i, 0));
      if (!name.starts_with("shmstats_samples_d")) continue;
      int64_t day = std::strtoll(name.c_str() + 18, nullptr, 10);
      if (day < keep_from_day) {
        pg_.Exec("DROP TABLE " + name);  // a name this writer made: shmstats_samples_d<digits>
        ++dropped;
      }
    }
    return dropped;
  }

  Pg pg_;
  std::string instance_;
  SeriesIds ids_;
};

}  // namespace

}  // namespace shmstats::history

shmstats::history::Store* shmstats_history_pg_open_store(const char* url) {
  return new shmstats::history::PgStore(url);
}

shmstats::history::StoreWriter* shmstats_history_pg_open_writer(const char* url,
                                                                const char* instance) {
  return new shmstats::history::PgWriter(url, instance);
}
