// SPDX-License-Identifier: Apache-2.0
#pragma once

// stats.json (and GET /stats): the latest tick in the shape of the classic stats
// daemons' output, extended with labels and a version. Keys of "counters",
// "gauges" and "histograms" are series ids: name{label="value",...}.
//
// One line of JSON:
// {"version":1,"timestamp":"2026-11-21T19:00:00Z","interval_seconds":60,
//  "segment":"shmstats",
//  "counters":{"tool_calls_total{tool=\"x\"}":{"name","labels","value","delta","rate"}},
//  "gauges":{"queue_depth":{"name","labels","value"}},
//  "histograms":{"lat":{"name","labels","count","sum","mean","p50","p90","p99",
//                       "total_count","total_sum"}}}
//
// Counters are exact up to 2^64; delta, rate and the interval's histogram fields are
// null on the first tick (no previous snapshot). Quantiles are null when empty.

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/aggregate.h"

namespace shmstats::daemon {

// The documents' series order (by type, then series id) carried from one tick to
// the next: it is sorted again only when the series changed, so a steady tick costs
// no sort. One per sequence of ticks; not thread-safe.
struct StatsJsonOrder {
  std::vector<uint64_t> identities;  // SeriesStat::identity of the sorted tick, in its order
  std::vector<uint32_t> order;       // indices into TickResult::stats
  std::array<size_t, 3> ends{};      // where counters, gauges and histograms end in `order`
  size_t last_size = 0;              // bytes of the last document, to reserve the next
};

// The document, handed to `write` in pieces of about kStatsJsonPiece bytes (the
// daemon writes them to the file as they come: at 100,000 series the document is
// 19 MB, and it is never whole in memory).
inline constexpr size_t kStatsJsonPiece = 256 * 1024;
void WriteStatsJson(const TickResult& tick, const std::string& segment, StatsJsonOrder& order,
                    const std::function<void(std::string_view)>& write);
// The whole document in one string.
std::string StatsJson(const TickResult& tick, const std::string& segment, StatsJsonOrder& order);

}  // namespace shmstats::daemon
