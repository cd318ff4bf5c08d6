// SPDX-License-Identifier: Apache-2.0
#include "daemon/producer_activity.h"

#include <algorithm>
#include <bit>
#include <optional>
#include <vector>

#include "daemon/mapped_read.h"
#include "history/time.h"
#include "shmstats/error.h"
#include "shmstats/segment.h"

namespace shmstats::daemon {
namespace {

uint64_t Mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001b3ull + (h >> 29); }

// A hash of everything recording changes in a series.
uint64_t ValueHash(const MetricSnapshot& m) {
  uint64_t h = 0xcbf29ce484222325ull;
  switch (m.type) {
    case MetricType::kCounter:
      h = Mix(h, m.counter + m.counter_reset_total);
      return Mix(h, std::bit_cast<uint64_t>(m.counter_double + m.counter_double_reset_total));
    case MetricType::kGauge:
      return Mix(h, std::bit_cast<uint64_t>(m.gauge));
    case MetricType::kHistogram:
      for (size_t i = 0; i < m.histogram.counts.size(); ++i)
        h = Mix(h, m.histogram.counts[i] +
                       (i < m.histogram.reset_counts.size() ? m.histogram.reset_counts[i] : 0));
      return Mix(h, std::bit_cast<uint64_t>(m.histogram.sum + m.histogram.reset_sum));
  }
  return h;
}

}  // namespace

void ProducerActivity::Note(const std::string& name, const Snapshot& snap) {
  if (snap.instance_id != instance_) {  // a new segment: nothing of the old one holds
    seen_.clear();
    instance_ = snap.instance_id;
  }
  std::vector<uint64_t> active;
  for (const MetricSnapshot& m : snap.metrics) {
    if (m.producer == 0) continue;
    const uint64_t hash = ValueHash(m);
    auto [it, fresh] = seen_.try_emplace(m.index, m.producer, hash);
    if (fresh || it->second != std::pair{m.producer, hash}) active.push_back(m.producer);
    it->second = {m.producer, hash};
  }
  std::sort(active.begin(), active.end());
  active.erase(std::unique(active.begin(), active.end()), active.end());
  const int64_t now = history::NowMs();
  if (active.empty() || now < next_try_ms_) return;
  try {
    std::optional<Segment> segment;
    ReadMapped(name, [&] { segment.emplace(Segment::Open(name, Access::kReadWrite)); });
    ReadMapped(name, [&] {
      segment->NoteProducerActivity(active, static_cast<uint64_t>(snap.taken_unix_ns));
    });
  } catch (const Error& e) {
    if (e.code() == Errc::kNotFound || e.code() == Errc::kPermission) next_try_ms_ = now + 60'000;
  }
}

}  // namespace shmstats::daemon
