#include "aggregate.h"

#include "history_schema.h"

namespace shmstats::daemon {

TickResult Aggregator::Next(Snapshot snap, int64_t fallback_interval_ms) {
  TickResult r;
  r.unix_ms = static_cast<int64_t>(snap.taken_unix_ns / 1'000'000);
  const bool baseline = !HasBaseline();
  // A re-created segment starts every metric from zero: compare against nothing.
  const bool recreated = !baseline && snap.instance_id != instance_id_;
  if (!baseline) {
    r.interval_ms = r.unix_ms > last_ms_ ? r.unix_ms - last_ms_ : fallback_interval_ms;
  }
  const double seconds = static_cast<double>(r.interval_ms) / 1000.0;

  std::unordered_map<std::string, Previous> next;
  next.reserve(snap.metrics.size());
  r.stats.reserve(snap.metrics.size());
  r.record.unix_ms = r.unix_ms;
  r.record.interval_ms = r.interval_ms;
  r.record.samples.reserve(snap.metrics.size());

  for (size_t i = 0; i < snap.metrics.size(); ++i) {
    const MetricSnapshot& m = snap.metrics[i];
    std::string key = history::SeriesKey(m);
    const Previous* prev = nullptr;
    if (!recreated) {
      if (auto it = previous_.find(key); it != previous_.end()) prev = &it->second;
    }
    SeriesStat st;
    st.index = i;
    MetricSnapshot sample;
    sample.name = m.name;
    sample.labels = m.labels;
    sample.type = m.type;
    sample.help = m.help;
    sample.unit = m.unit;
    Previous& keep = next[key];
    switch (m.type) {
      case MetricType::kGauge:
        st.has_delta = true;
        sample.gauge = m.gauge;
        break;
      case MetricType::kCounter: {
        // value + reset total never drops: a reset moves the value into the reset
        // total, and a drop is a wrap at 2^64 (unsigned subtraction wraps back).
        const uint64_t total = m.counter + m.counter_reset_total;
        keep.counter = total;
        // Not seen before but not a baseline: registered during the interval, from 0.
        st.has_delta = !baseline;
        st.delta = prev ? total - prev->counter : total;
        st.rate = seconds > 0 ? static_cast<double>(st.delta) / seconds : 0;
        sample.counter = st.delta;
        break;
      }
      case MetricType::kHistogram: {
        // Buckets and sum as counters: count + reset total never drops.
        const HistogramValue& h = m.histogram;
        keep.counts = h.counts;
        for (size_t b = 0; b < h.counts.size() && b < h.reset_counts.size(); ++b)
          keep.counts[b] += h.reset_counts[b];
        keep.sum = h.sum + h.reset_sum;
        st.has_delta = !baseline;
        const bool fresh = !prev || prev->counts.size() != h.counts.size();
        st.interval.bounds = h.bounds;
        st.interval.precision_bits = h.precision_bits;
        st.interval.counts = keep.counts;
        st.interval.sum = keep.sum;
        if (!fresh) {
          for (size_t b = 0; b < h.counts.size(); ++b) st.interval.counts[b] -= prev->counts[b];
          st.interval.sum -= prev->sum;
        }
        for (uint64_t c : st.interval.counts) st.interval.count += c;
        sample.histogram = st.interval;
        break;
      }
    }
    if (st.has_delta) r.record.samples.push_back(std::move(sample));
    r.stats.push_back(std::move(st));
  }
  previous_ = std::move(next);
  instance_id_ = snap.instance_id;
  last_ms_ = r.unix_ms;
  r.snapshot = std::move(snap);
  return r;
}

}  // namespace shmstats::daemon
