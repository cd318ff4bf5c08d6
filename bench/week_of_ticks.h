// SPDX-License-Identifier: Apache-2.0
#pragma once

// The history the 7-day query benchmarks read: `series` counters q_total{id="0"...}
// with one random delta per one-minute tick for the 7 days ending at `end_ms`; and
// the benchmark loop that queries one of them over those 7 days.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>

#include "common/selector.h"
#include "history/query.h"
#include "history/store.h"

namespace shmstats::bench {

inline void WriteWeekOfTicks(history::StoreWriter& writer, int series, int64_t end_ms) {
  constexpr int64_t kMinute = 60'000, kTicks = 7 * 24 * 60;
  std::mt19937_64 rng(3);
  history::TickRecord tick;
  tick.interval_ms = kMinute;
  for (int i = 0; i < series; ++i) {
    MetricSnapshot m;
    m.name = "q_total";
    m.labels = {{"id", std::to_string(i)}};
    tick.samples.push_back(m);
  }
  for (int64_t t = end_ms - (kTicks - 1) * kMinute; t <= end_ms; t += kMinute) {
    tick.unix_ms = t;
    for (auto& m : tick.samples) m.counter = rng() % 500;
    writer.Write(tick, {});
  }
}

// The timed loop: a 7-day, 1-minute query of q_total{id="<id>"} ending at `end_ms`;
// reports the points it returned.
inline void QueryAWeek(benchmark::State& state, history::HistoryReader& reader, int id,
                       int64_t end_ms) {
  constexpr int64_t kMinute = 60'000;
  auto selector = common::Selector::Parse("q_total{id=\"" + std::to_string(id) + "\"}");
  size_t points = 0;
  for (auto _ : state) {
    auto r = reader.Query(selector, {end_ms - 7 * 24 * 60 * kMinute, end_ms, kMinute});
    points = r.at(0).points.size();
    benchmark::DoNotOptimize(r);
  }
  state.counters["points"] = static_cast<double>(points);
}

}  // namespace shmstats::bench
