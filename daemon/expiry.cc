// SPDX-License-Identifier: Apache-2.0
#include "daemon/expiry.h"

#include <fmt/format.h>

#include <bit>
#include <optional>

#include "daemon/aggregate.h"
#include "daemon/log.h"
#include "daemon/mapped_read.h"
#include "shmstats/error.h"
#include "shmstats/segment.h"

namespace shmstats::daemon {

uint64_t ValuesHash(const MetricSnapshot& m) {
  uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](uint64_t v) { h = (h ^ v) * 0x100000001b3ULL; };
  mix(m.counter);
  mix(m.counter_reset_total);
  mix(std::bit_cast<uint64_t>(m.counter_double));
  mix(std::bit_cast<uint64_t>(m.counter_double_reset_total));
  mix(std::bit_cast<uint64_t>(m.gauge));
  for (uint64_t c : m.histogram.counts) mix(c);
  for (uint64_t c : m.histogram.reset_counts) mix(c);
  mix(std::bit_cast<uint64_t>(m.histogram.sum));
  mix(std::bit_cast<uint64_t>(m.histogram.reset_sum));
  return h;
}

void Expiry::Observe(const Snapshot& snap, int64_t now_ms) {
  const uint32_t tick = ++ticks_;
  due_.clear();
  for (const MetricSnapshot& m : snap.metrics) {
    if (m.ttl_seconds == 0) continue;
    const uint64_t identity = SeriesIdentity(m), values = ValuesHash(m);
    auto [it, fresh] = seen_.try_emplace(m.index);
    Seen& s = it->second;
    if (fresh || s.identity != identity || s.values != values) {
      s.identity = identity;
      s.values = values;
      s.unchanged_ms = now_ms;
    } else if (now_ms - s.unchanged_ms >= int64_t{m.ttl_seconds} * 1000) {
      due_.emplace(m.index, std::pair{identity, values});
    }
    s.tick = tick;
  }
  std::erase_if(seen_, [tick](const auto& e) { return e.second.tick != tick; });
}

uint32_t Expiry::Run(const std::string& name) {
  if (due_.empty()) return 0;
  size_t deleted = 0;
  try {
    std::optional<Segment> segment;
    ReadMapped(name, [&] { segment.emplace(Segment::Open(name, Access::kReadWrite)); });
    ReadMapped(name, [&] {
      deleted = segment
                    ->Delete([this](const MetricSnapshot& m) {
                      auto it = due_.find(m.index);
                      return it != due_.end() && it->second.first == SeriesIdentity(m) &&
                             it->second.second == ValuesHash(m);
                    })
                    .size();
    });
  } catch (const Error& e) {
    if (!warned_)  // once: a segment the daemon may not write stays so
      Log("warning", fmt::format("idle series are not deleted: {}", e.what()));
    warned_ = true;
  }
  for (const auto& [index, idle] : due_) seen_.erase(index);
  due_.clear();
  return static_cast<uint32_t>(deleted);
}

}  // namespace shmstats::daemon
