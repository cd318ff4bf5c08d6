// SPDX-License-Identifier: Apache-2.0
// statsctl history SELECTOR [--from] [--to] [--step] [--csv]: the daemon's history
//   database, aggregated per step (counters: increase and rate; gauges: min, avg,
//   max, last; histograms: count, sum and quantiles of merged buckets).
// statsctl history export [--from] [--to] [--format csv|json|openmetrics] [PATTERN]:
//   raw per-interval history for cron jobs and `promtool tsdb create-blocks-from`.
// statsctl history summary SELECTOR [--from] [--to] [--by LABEL|instance]: one row
//   per series (or group) over the whole range.
// statsctl history info: what the store holds (rows and bytes per table, oldest and
//   newest sample, rolled-up hours).
// All read the database directly (read-only): no daemon needed.

#include <fmt/format.h>

#include <cmath>
#include <iostream>

#include "common/exposition.h"
#include "history/export.h"
#include "history/query.h"
#include "history/storage_json.h"
#include "history/store.h"
#include "history/summary.h"
#include "history/time.h"
#include "tools/json_output.h"
#include "tools/progress.h"
#include "tools/table.h"

namespace shmstats::statsctl {
namespace {

constexpr const char* kDefaultDb = "/var/lib/shmstats/history.db";

struct HistoryOptions {
  std::string db = kDefaultDb;
  std::string selector;
  std::string from = "-1h";
  std::string to = "now";
  std::string step = "5m";
  bool csv = false;
};

struct ExportHistoryOptions {
  const HistoryOptions* parent = nullptr;
  std::string format = "csv";
  std::string pattern;
};

struct InfoOptions {
  const HistoryOptions* parent = nullptr;
};

struct SummaryOptions {
  const HistoryOptions* parent = nullptr;
  std::string selector;
  std::string by;
};

// Wraps the history library's errors in statsctl's exit statuses: a database
// that cannot be opened or read is status 3, like a segment.
template <class F>
Exit Guard(const std::string& db, F&& f) {
  try {
    return f();
  } catch (const history::StoreError& e) {
    throw CommandError(Exit::kSegment, fmt::format("{}: is shmstatsd's database at {}? (--db, "
                                                   "$SHMSTATS_HISTORY_DB)",
                                                   e.what(), db));
  } catch (const Error& e) {
    throw CommandError(ExitFor(e.code()), e.what());
  }
}

void PrintTable(const std::vector<history::SeriesHistory>& result, const NumberStyle& style) {
  for (const auto& sh : result) {
    const MetricSnapshot& m = sh.series.metric;
    auto Cell = [&](double v) { return std::isfinite(v) ? HumanNumber(v, m.unit, style) : "-"; };
    std::printf("%s%s (%s)\n", common::SeriesName(m).c_str(), LabelsText(m.labels).c_str(),
                std::string(TypeName(m.type)).c_str());
    Table table(m.type == MetricType::kCounter
                    ? std::vector<std::string>{"TIME", "INCREASE", "RATE/S"}
                : m.type == MetricType::kGauge
                    ? std::vector<std::string>{"TIME", "MIN", "AVG", "MAX", "LAST"}
                    : std::vector<std::string>{"TIME", "COUNT", "SUM", "P50", "P90", "P99"});
    for (const auto& p : sh.points) {
      const history::Accum& a = p.acc;
      std::string t = history::FormatRfc3339(p.start_ms);
      if (m.type == MetricType::kCounter) {
        double rate = history::PointRate(a);
        table.Add({t, HumanCount(a.increase, m.unit, style),
                   std::isfinite(rate) ? HumanRate(rate, m.unit, style) : "-"});
      } else if (m.type == MetricType::kGauge) {
        table.Add({t, Cell(a.min), Cell(a.Avg()), Cell(a.max), Cell(a.last)});
      } else {
        HistogramValue h = history::PointHistogram(sh.series, a);
        table.Add({t, std::to_string(h.count), Cell(h.sum), Cell(Quantile(h, 0.5)),
                   Cell(Quantile(h, 0.9)), Cell(Quantile(h, 0.99))});
      }
    }
    table.Print(stdout);
    std::printf("\n");
  }
}

Exit RunHistory(const GlobalOptions& global, const HistoryOptions& opts) {
  return Guard(opts.db, [&] {
    int64_t now = history::NowMs();
    auto selector = common::Selector::Parse(opts.selector);
    const auto range = history::ParseRange(opts.from, opts.to, opts.step, now);
    history::HistoryReader reader(opts.db);
    auto result = reader.Query(selector, range);
    if (global.json) {
      PrintJson(history::HistoryToJson(result, range));
    } else if (opts.csv) {
      std::cout << history::HistoryToCsv(result, range);
    } else {
      PrintTable(result, global.style);
    }
    if (result.empty()) {
      std::fprintf(stderr, "statsctl: no history for '%s' between %s and %s\n",
                   opts.selector.c_str(), history::FormatRfc3339(range.from_ms).c_str(),
                   history::FormatRfc3339(range.to_ms).c_str());
      return Exit::kNotFound;
    }
    return Exit::kOk;
  });
}

Exit RunExportHistory(const GlobalOptions& global, const ExportHistoryOptions& opts) {
  const HistoryOptions& h = *opts.parent;
  return Guard(h.db, [&] {
    int64_t now = history::NowMs();
    auto format = history::ParseExportFormat(global.json ? "json" : opts.format);
    auto selector =
        opts.pattern.empty() ? common::Selector() : common::Selector::Parse(opts.pattern);
    int64_t from = history::ParseTime(h.from, now), to = history::ParseTime(h.to, now);
    history::HistoryReader reader(h.db);
    ProgressBuf progress(std::cout.rdbuf(), "exporting:");  // on stderr, if a terminal
    std::ostream out(&progress);
    history::Export(reader, selector, from, to, format, out);
    out.flush();
    return Exit::kOk;
  });
}

std::string RowName(const history::SummaryRow& row) {
  const auto& m = row.series.metric;
  std::string name = common::SeriesName(m) + LabelsText(m.labels);
  if (!row.series.instance.empty()) name += " instance=" + row.series.instance;
  return name;
}

void PrintSummary(const std::vector<history::SummaryRow>& rows, const NumberStyle& style) {
  Table counters({"COUNTER", "MEMBERS", "INCREASE", "RATE/S"});
  Table gauges({"GAUGE", "MEMBERS", "MIN", "AVG", "MAX", "LAST"});
  Table histograms({"HISTOGRAM", "MEMBERS", "COUNT", "SUM", "MEAN", "P50", "P90", "P99"});
  bool has[3] = {false, false, false};
  for (const auto& row : rows) {
    const history::Accum& a = row.acc;
    const MetricSnapshot& m = row.series.metric;
    auto Cell = [&](double v) { return std::isfinite(v) ? HumanNumber(v, m.unit, style) : "-"; };
    const std::string members = std::to_string(row.members);
    switch (row.series.metric.type) {
      case MetricType::kCounter:
        counters.Add({RowName(row), members, HumanCount(a.increase, m.unit, style),
                      std::isfinite(row.rate) ? HumanRate(row.rate, m.unit, style) : "-"});
        has[0] = true;
        break;
      case MetricType::kGauge:
        gauges.Add({RowName(row), members, Cell(a.min), Cell(a.Avg()), Cell(a.max), Cell(a.last)});
        has[1] = true;
        break;
      case MetricType::kHistogram: {
        HistogramValue h = history::PointHistogram(row.series, a);
        histograms.Add({RowName(row), members, std::to_string(h.count), Cell(h.sum),
                        Cell(h.count ? h.sum / static_cast<double>(h.count) : NAN),
                        Cell(Quantile(h, 0.5)), Cell(Quantile(h, 0.9)), Cell(Quantile(h, 0.99))});
        has[2] = true;
        break;
      }
    }
  }
  const Table* tables[3] = {&counters, &gauges, &histograms};
  bool first = true;
  for (int i = 0; i < 3; ++i) {
    if (!has[i]) continue;
    if (!first) std::printf("\n");
    tables[i]->Print(stdout);
    first = false;
  }
}

Exit RunSummary(const GlobalOptions& global, const SummaryOptions& opts) {
  const HistoryOptions& h = *opts.parent;
  return Guard(h.db, [&] {
    int64_t now = history::NowMs();
    auto selector = common::Selector::Parse(opts.selector);
    history::SummaryRequest request{history::ParseTime(h.from, now), history::ParseTime(h.to, now),
                                    opts.by};
    history::HistoryReader reader(h.db);
    auto rows = history::Summarize(reader, selector, request);
    if (global.json) {
      PrintJson(history::SummaryToJson(rows, request));
    } else if (h.csv) {
      std::cout << history::SummaryToCsv(rows);
    } else {
      PrintSummary(rows, global.style);
    }
    if (rows.empty()) {
      std::fprintf(stderr, "statsctl: no history for '%s' between %s and %s\n",
                   opts.selector.c_str(), history::FormatRfc3339(request.from_ms).c_str(),
                   history::FormatRfc3339(request.to_ms).c_str());
      return Exit::kNotFound;
    }
    return Exit::kOk;
  });
}

std::string Time(int64_t ms) { return ms == 0 ? "-" : history::FormatRfc3339(ms); }

Exit RunInfo(const GlobalOptions& global, const InfoOptions& opts) {
  const HistoryOptions& h = *opts.parent;
  return Guard(h.db, [&] {
    const history::StorageStats st = history::OpenStore(h.db)->Stats();
    if (global.json) {
      nlohmann::json doc = {{"version", 1}};
      doc.update(history::StorageJson(st));
      PrintJson(doc);
      return Exit::kOk;
    }
    std::printf("backend      %s\n", st.backend.c_str());
    std::printf("bytes        %s\n", std::to_string(st.bytes).c_str());
    if (st.file_bytes) std::printf("file bytes   %s\n", std::to_string(st.file_bytes).c_str());
    std::printf("series       %s\n", std::to_string(st.series).c_str());
    std::printf("samples      %s to %s\n", Time(st.oldest_ms).c_str(), Time(st.newest_ms).c_str());
    std::printf("rollups      %s to %s\n\n", Time(st.rollup_from_ms).c_str(),
                Time(st.rollup_until_ms).c_str());
    Table table({"TABLE", "ROWS", "BYTES"});
    for (const auto& t : st.tables) {
      table.Add({t.name, std::to_string(t.rows), std::to_string(t.bytes)});
    }
    table.Print(stdout);
    return Exit::kOk;
  });
}

}  // namespace

void SetupHistory(CLI::App& app, Runner* out) {
  auto opts = std::make_shared<HistoryOptions>();
  CLI::App* sub = app.add_subcommand("history", "Query shmstatsd's history database");
  // --db, --from and --to work on `history export` too: its --help lists them.
  auto range_options = [&](CLI::App* on) {
    on->add_option("--db", opts->db,
                   "history database or postgresql:// URL (default $SHMSTATS_HISTORY_DB, else " +
                       std::string(kDefaultDb) + ")");
    on->add_option("--from", opts->from, "start: RFC 3339, 'now' or relative (-1h, -1h30m, -7d)")
        ->capture_default_str();
    on->add_option("--to", opts->to, "end: RFC 3339, 'now' or relative")->capture_default_str();
  };
  range_options(sub);
  sub->get_option("--db")->envname("SHMSTATS_HISTORY_DB");
  sub->add_option("--step", opts->step, "1m, 5m, 15m, 1h, 6h or 1d")->capture_default_str();
  sub->add_flag("--csv", opts->csv, "print CSV (--json for JSON)");
  sub->add_option("SELECTOR", opts->selector,
                  "metric selector, e.g. 'tool_calls_total{tool=\"x\"}'");
  sub->footer(R"(Steps that the daemon's raw rows no longer cover are served from hourly
rollups (steps of 1h and more). Exit status 1 when nothing matched.

Examples:
  statsctl history tool_calls_total --from -1h --step 5m
  statsctl history 'latency_seconds' --from 2026-11-20T00:00:00Z --to now --step 1h --csv
  statsctl history export --from -1d --format openmetrics > day.om
  promtool tsdb create-blocks-from openmetrics day.om ./blocks)");

  auto exp = std::make_shared<ExportHistoryOptions>();
  exp->parent = opts.get();
  CLI::App* export_sub = sub->add_subcommand("export", "Export raw history for other tools");
  range_options(export_sub);
  export_sub->add_option("-f,--format", exp->format, "csv, json or openmetrics")
      ->check(CLI::IsMember({"csv", "json", "openmetrics"}))
      ->capture_default_str();
  export_sub->add_option("PATTERN", exp->pattern, "export only series matching this selector");
  export_sub->fallthrough();
  export_sub->footer(R"(Counters export their per-interval increase (csv, json) or a running total
from --from (openmetrics, timestamps in seconds, ending in # EOF).
When stderr is a terminal, progress (lines and bytes so far) is shown there.

Examples:
  statsctl history export --from -1d --format openmetrics > day.om
  statsctl history export 'http_*' --from 2026-11-20T00:00:00Z --to 2026-11-21T00:00:00Z --format json
  # /etc/cron.d/shmstats-history: daily at 00:10 (% escaped for cron)
  10 0 * * * shmstats /usr/local/bin/statsctl history export --db /var/lib/shmstats/history.db --from=-1d --format csv > /var/lib/shmstats/export-$(date +\%F).csv)");

  auto sum = std::make_shared<SummaryOptions>();
  sum->parent = opts.get();
  CLI::App* summary_sub = sub->add_subcommand(
      "summary", "One row per series over a range (totals, averages, quantiles)");
  summary_sub->add_option("SELECTOR", sum->selector, "metric selector, e.g. 'tool_calls_total'")
      ->required();
  range_options(summary_sub);
  summary_sub->add_flag("--csv", opts->csv, "print CSV (--json for JSON)");
  summary_sub->add_option("--by", sum->by, "one row per value of this label, or per instance");
  summary_sub->fallthrough();
  summary_sub->footer(R"(Counters: increase and average rate; gauges: min, avg, max, last;
histograms: count, sum, mean and p50/p90/p99 from the buckets merged over the
range (--from, --to]. With --by, the series of a family that share the label's
value make one row: increases, counts and buckets add up, rates add up, a gauge's
last is the sum of the members' last values. Exit status 1 when nothing matched.

Examples:
  statsctl history summary tool_calls_total --from -1d
  statsctl history summary 'latency_seconds' --from -7d --by tool --json)");

  auto info = std::make_shared<InfoOptions>();
  info->parent = opts.get();
  CLI::App* info_sub = sub->add_subcommand(
      "info", "What the store holds: rows and bytes per table, oldest and newest sample");
  info_sub->add_option("--db", opts->db,
                       "history database or postgresql:// URL (default $SHMSTATS_HISTORY_DB, "
                       "else " +
                           std::string(kDefaultDb) + ")");
  info_sub->fallthrough();
  info_sub->footer(R"(Rows are counted (a large store takes seconds); bytes are a table's pages
with its indexes: SQLite's dbstat (bytes is page_count * page_size; file bytes
adds the WAL as the file system sees it), PostgreSQL's pg_total_relation_size
(the samples: the sum over their daily partitions). Rollups: the hours rolled up.

Examples:
  statsctl history info
  statsctl --json history info --db postgresql://shmstats@db/metrics)");

  // The history runner is stored first; an `export`, `summary` or `info` replaces it.
  sub->callback([opts, out, export_sub, summary_sub, info_sub] {
    if (export_sub->parsed() || summary_sub->parsed() || info_sub->parsed()) return;
    if (opts->selector.empty()) {
      throw CLI::ValidationError("SELECTOR", "history needs a SELECTOR (or the export subcommand)");
    }
    *out = [opts](const GlobalOptions& g) { return RunHistory(g, *opts); };
  });
  OnParsed(export_sub, exp, &RunExportHistory, out);
  OnParsed(summary_sub, sum, &RunSummary, out);
  OnParsed(info_sub, info, &RunInfo, out);
}

}  // namespace shmstats::statsctl
