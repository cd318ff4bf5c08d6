// SPDX-License-Identifier: Apache-2.0
#include "daemon/self_metrics.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string_view>
#include <unordered_set>

namespace shmstats::daemon {
namespace {

HistogramValue DurationBuckets() {
  HistogramValue h;
  h.bounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};
  h.counts.assign(h.bounds.size() + 1, 0);
  return h;
}

void Observe(HistogramValue& h, double v) {
  size_t i = std::lower_bound(h.bounds.begin(), h.bounds.end(), v) - h.bounds.begin();
  ++h.counts[i];
  ++h.count;
  h.sum += v;
}

MetricSnapshot Gauge(std::string name, double v, std::string help, std::string unit = "") {
  MetricSnapshot m =
      OwnMetric(std::move(name), MetricType::kGauge, std::move(help), std::move(unit));
  m.gauge = v;
  return m;
}

MetricSnapshot Counter(std::string name, uint64_t v, std::string help) {
  MetricSnapshot m = OwnMetric(std::move(name), MetricType::kCounter, std::move(help));
  m.counter = v;
  return m;
}

}  // namespace

MetricSnapshot OwnMetric(std::string name, MetricType type, std::string help, std::string unit) {
  MetricSnapshot m;
  m.name = std::move(name);
  m.type = type;
  m.help = std::move(help);
  m.unit = std::move(unit);
  return m;
}

SelfMetrics::SelfMetrics() : tick_seconds_(DurationBuckets()), write_seconds_(DurationBuckets()) {}

void SelfMetrics::TickDone(double seconds, int64_t unix_ms) {
  std::lock_guard lock(mu_);
  ++ticks_;
  Observe(tick_seconds_, seconds);
  last_tick_ms_ = unix_ms;
}

void SelfMetrics::HistoryWritten(double seconds, int64_t rows) {
  std::lock_guard lock(mu_);
  Observe(write_seconds_, seconds);
  rows_ += static_cast<uint64_t>(rows);
}

void SelfMetrics::CountError(ErrorKind kind) {
  std::lock_guard lock(mu_);
  ++errors_[static_cast<int>(kind)];
}

void SelfMetrics::SetPending(size_t ticks) {
  std::lock_guard lock(mu_);
  pending_ = ticks;
}

void SelfMetrics::SetSegment(const std::optional<SegmentInfo>& info) {
  std::lock_guard lock(mu_);
  segment_ = info;
}

std::vector<MetricSnapshot> SelfMetrics::Collect() const {
  std::unique_lock lock(mu_);
  std::vector<MetricSnapshot> out;
  out.push_back(Counter("shmstatsd_ticks_total", ticks_, "Collection ticks completed"));
  MetricSnapshot tick = OwnMetric("shmstatsd_tick_duration_seconds", MetricType::kHistogram,
                                  "Time to snapshot, aggregate and store one tick", "seconds");
  tick.histogram = tick_seconds_;
  out.push_back(std::move(tick));
  MetricSnapshot write =
      OwnMetric("shmstatsd_history_write_duration_seconds", MetricType::kHistogram,
                "Time to write one tick to the history database", "seconds");
  write.histogram = write_seconds_;
  out.push_back(std::move(write));
  out.push_back(Counter("shmstatsd_history_rows_written_total", rows_,
                        "Sample and rollup rows written to the history database"));
  out.push_back(
      Gauge("shmstatsd_history_pending_ticks", static_cast<double>(pending_),
            "Ticks waiting (spooled on disk, or in memory) until the history store takes them"));
  static const char* kKinds[] = {"segment", "history", "stats_json", "textfile", "baseline"};
  for (int i = 0; i < 5; ++i) {
    MetricSnapshot e = Counter("shmstatsd_errors_total", errors_[i], "Errors by kind");
    e.labels = {{"kind", kKinds[i]}};
    out.push_back(std::move(e));
  }
  out.push_back(Gauge("shmstatsd_segment_up", segment_ ? 1 : 0,
                      "1 when the segment is attached, 0 while it is missing"));
  SegmentInfo info = segment_.value_or(SegmentInfo{});
  out.push_back(Gauge("shmstatsd_segment_metrics_used", info.metrics_used,
                      "Metric descriptors in use in the segment"));
  out.push_back(Gauge("shmstatsd_segment_metrics_max", info.max_metrics,
                      "Metric descriptors the segment can hold"));
  out.push_back(Gauge("shmstatsd_segment_slots_used", static_cast<double>(info.slots_used),
                      "Value slots in use in the segment"));
  out.push_back(Gauge("shmstatsd_segment_slots_max", static_cast<double>(info.max_slots),
                      "Value slots the segment can hold"));
  out.push_back(Counter("shmstatsd_segment_registrations_refused_total", info.registrations_refused,
                        "Registrations the segment refused because it was full"));
  out.push_back(Gauge("shmstatsd_segment_producers_used", info.producers_used,
                      "Producer records in use (statsctl ps)"));
  out.push_back(Gauge("shmstatsd_segment_producers_max", info.producers_max,
                      "Producer records the segment can hold"));
  out.push_back(Counter("shmstatsd_segment_producers_refused_total", info.producers_refused,
                        "Producers that found the producer table full (they record without a "
                        "record)"));
  out.push_back(Gauge("shmstatsd_resident_memory_bytes", static_cast<double>(ResidentBytes()),
                      "Resident memory of shmstatsd", "bytes"));
  out.push_back(Gauge("shmstatsd_last_tick_timestamp_seconds",
                      static_cast<double>(last_tick_ms_) / 1000.0,
                      "Unix time of the last completed tick", "seconds"));
  MetricSnapshot build =
      Gauge("shmstats_build_info", 1, "The shmstats version shmstatsd was built from; always 1");
  build.labels = {{"revision", SHMSTATS_REVISION}, {"version", SHMSTATS_VERSION}};
  out.push_back(std::move(build));
  // The sources run unlocked: one may reach the collector, which counts its errors here.
  const auto sources = sources_;
  lock.unlock();
  for (const auto& source : sources) source(out);
  return out;
}

void SelfMetrics::AddTo(Snapshot& snap) const {
  std::vector<MetricSnapshot> own = Collect();
  std::unordered_set<std::string_view> names;
  for (const auto& m : own) names.insert(m.name);
  std::erase_if(snap.metrics, [&](const MetricSnapshot& m) {
    return m.name.starts_with("shmstatsd_") || names.contains(m.name);
  });
  for (auto& m : own) snap.metrics.push_back(std::move(m));
}

void SelfMetrics::AddSource(std::function<void(std::vector<MetricSnapshot>&)> source) {
  std::lock_guard lock(mu_);
  sources_.push_back(std::move(source));
}

uint64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace shmstats::daemon
