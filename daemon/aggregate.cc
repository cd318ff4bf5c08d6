// SPDX-License-Identifier: Apache-2.0
#include "daemon/aggregate.h"

#include <cstring>
#include <string_view>

namespace shmstats::daemon {
namespace {

// FNV-1a, 64 bits, over each field followed by a separator no name contains.
struct Fnv {
  uint64_t h = 0xcbf29ce484222325ULL;
  void Bytes(const void* p, size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ULL;
  }
  void Field(std::string_view s) {
    Bytes(s.data(), s.size());
    Bytes("", 1);
  }
};

}  // namespace

uint64_t SeriesIdentity(const MetricSnapshot& m) {
  Fnv f;
  f.Field(m.name);
  for (const auto& [k, v] : m.labels) {
    f.Field(k);
    f.Field(v);
  }
  const auto type = static_cast<unsigned char>(m.type);
  f.Bytes(&type, 1);
  for (double b : m.histogram.bounds) f.Bytes(&b, sizeof b);
  // A series deleted and registered again restarts from zero: not the one seen before
  // (the history still finds it by its key, and keeps its past).
  if (m.generation != 0) f.Bytes(&m.generation, sizeof m.generation);
  return f.h != 0 ? f.h : 1;  // never 0: 0 means "no identity" (TickRecord)
}

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

  const uint32_t tick = ++ticks_;
  r.stats.reserve(snap.metrics.size());

  for (size_t i = 0; i < snap.metrics.size(); ++i) {
    const MetricSnapshot& m = snap.metrics[i];
    const uint64_t identity = SeriesIdentity(m);
    if (m.index >= previous_.size()) previous_.resize(m.index + 1);
    Previous& keep = previous_[m.index];
    // Seen at the previous tick as this very series: its values are the baseline.
    const bool matched =
        !recreated && keep.tick == static_cast<uint32_t>(tick - 1) && keep.identity == identity;
    const uint64_t prev_counter = keep.counter;
    const double prev_sum = keep.sum;
    keep.tick = tick;
    keep.identity = identity;
    SeriesStat st;
    st.index = static_cast<uint32_t>(i);
    st.identity = identity;
    switch (m.type) {
      case MetricType::kGauge:
        st.has_delta = true;
        break;
      case MetricType::kCounter: {
        // value + reset total never drops: a reset moves the value into the reset
        // total, and a drop is a wrap at 2^64 (unsigned subtraction wraps back).
        // A float counter: its history counts the whole part of value + reset total
        // (increases over any range exact to within 1, none lost to rounding), its
        // rate the doubles (its total kept in `sum`, which counters do not use).
        const double total_double = m.counter_double + m.counter_double_reset_total;
        const uint64_t total =
            m.fractional ? WholePart(total_double) : m.counter + m.counter_reset_total;
        keep.counter = total;
        keep.sum = total_double;
        // Not seen before but not a baseline: registered during the interval, from 0.
        st.has_delta = !baseline;
        st.delta = matched ? total - prev_counter : total;
        const double increase = !m.fractional ? static_cast<double>(st.delta)
                                : matched     ? total_double - prev_sum
                                              : total_double;
        st.rate = seconds > 0 ? increase / seconds : 0;
        break;
      }
      case MetricType::kHistogram: {
        // Buckets and sum as counters: count + reset total never drops.
        const HistogramValue& h = m.histogram;
        if (keep.counts == 0) {
          counts_.emplace_back();
          keep.counts = static_cast<uint32_t>(counts_.size());
        }
        std::vector<uint64_t>& counts = counts_[keep.counts - 1];  // the previous tick's
        const bool fresh = !matched || counts.size() != h.counts.size();
        st.has_delta = !baseline;
        st.interval = static_cast<uint32_t>(r.intervals.size());
        HistogramValue& interval = r.intervals.emplace_back();
        interval.bounds = h.bounds;
        interval.exponential = h.exponential;
        interval.schema = h.schema;
        interval.first_index = h.first_index;
        interval.zero_threshold = h.zero_threshold;
        interval.counts = h.counts;
        for (size_t b = 0; b < h.counts.size() && b < h.reset_counts.size(); ++b)
          interval.counts[b] += h.reset_counts[b];
        keep.sum = h.sum + h.reset_sum;
        interval.sum = keep.sum;
        // Keep the totals for the next tick, and leave the interval's differences here.
        counts.resize(interval.counts.size());
        for (size_t b = 0; b < interval.counts.size(); ++b) {
          const uint64_t total = interval.counts[b];
          if (!fresh) interval.counts[b] -= counts[b];
          counts[b] = total;
        }
        if (!fresh) interval.sum -= prev_sum;
        for (uint64_t c : interval.counts) interval.count += c;
        break;
      }
    }
    r.stats.push_back(std::move(st));
  }
  instance_id_ = snap.instance_id;
  last_ms_ = r.unix_ms;
  r.snapshot = std::move(snap);
  return r;
}

AggregatorState Aggregator::State() const {
  AggregatorState state;
  state.instance_id = instance_id_;
  state.last_ms = last_ms_;
  for (uint32_t i = 0; i < previous_.size(); ++i) {
    const Previous& p = previous_[i];
    if (p.identity == 0 || p.tick != ticks_) continue;  // not in the last snapshot
    AggregatorState::Series& s = state.series.emplace_back();
    s.index = i;
    s.identity = p.identity;
    s.counter = p.counter;
    s.sum = p.sum;
    if (p.counts != 0) s.counts = counts_[p.counts - 1];
  }
  return state;
}

void Aggregator::Restore(const AggregatorState& state) {
  instance_id_ = state.instance_id;
  last_ms_ = state.last_ms;
  for (const AggregatorState::Series& s : state.series) {
    if (s.index >= previous_.size()) previous_.resize(s.index + 1);
    Previous& p = previous_[s.index];
    // Seen at "the previous tick" of the next Next(): ticks_ is where it stands.
    p.identity = s.identity;
    p.counter = s.counter;
    p.sum = s.sum;
    p.tick = ticks_;
    if (!s.counts.empty()) {
      if (p.counts == 0) {
        counts_.emplace_back();
        p.counts = static_cast<uint32_t>(counts_.size());
      }
      counts_[p.counts - 1] = s.counts;
    }
  }
}

history::TickRecord TakeRecord(TickResult& tick, bool copy) {
  history::TickRecord record;
  record.unix_ms = tick.unix_ms;
  record.interval_ms = tick.interval_ms;
  record.identities.reserve(tick.stats.size());
  if (copy) {
    record.samples.reserve(tick.stats.size());
  } else {
    record.samples = std::move(tick.snapshot.metrics);
    tick.snapshot.metrics.clear();
  }
  size_t kept = 0;
  for (const SeriesStat& st : tick.stats) {
    if (!st.has_delta) continue;
    // In place, `kept` <= st.index: each sample moves down over one already taken.
    MetricSnapshot& sample = copy ? record.samples.emplace_back() : record.samples[kept];
    if (copy) {
      const MetricSnapshot& m = tick.snapshot.metrics[st.index];
      sample.name = m.name;
      sample.labels = m.labels;
      sample.help = m.help;
      sample.unit = m.unit;
      sample.type = m.type;
      sample.index = m.index;
      sample.gauge = m.gauge;
    } else if (kept != st.index) {
      sample = std::move(record.samples[st.index]);
    }
    ++kept;
    sample.counter = sample.type == MetricType::kCounter ? st.delta : 0;
    sample.counter_reset_total = 0;
    sample.fractional = false;  // the history counts a float counter's whole part
    sample.process_series = 0;
    if (sample.type == MetricType::kHistogram)
      sample.histogram = std::move(tick.intervals[st.interval]);
    else
      sample.histogram = {};
    if (sample.type != MetricType::kGauge) sample.gauge = 0;
    record.identities.push_back(st.identity);
  }
  record.samples.resize(kept);
  return record;
}

}  // namespace shmstats::daemon
