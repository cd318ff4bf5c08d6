// SPDX-License-Identifier: Apache-2.0
#pragma once

// stats.json (and GET /stats): the latest tick in the shape of the classic stats
// daemons' output, extended with labels and a version. Keys of "counters",
// "gauges" and "histograms" are series ids: name{label="value",...}.
//
// One line of JSON:
// {"version":1,"timestamp":"2026-11-21T19:00:00Z","interval_seconds":60,
//  "segment":"shmstats",
//  "counters":{"tool_calls_total{tool=\"x\"}":{"name","labels","unit","value","delta","rate"}},
//  "gauges":{"queue_depth":{"name","labels","unit","value"}},
//  "histograms":{"lat":{"name","labels","unit","count","sum","mean","p50","p90","p99",
//                       "last_p50","last_p90","last_p99","last_timestamp",
//                       "total_count","total_sum"}}}
//
// Names are common::SeriesName (a counter's ends in _total); unit is "" when the
// series has none. Counters are exact up to 2^64; delta, rate and the interval's
// histogram fields are null on the first tick (no previous snapshot). Quantiles are
// null when the interval had no observation; last_p* are then those of the latest
// tick that had one (at last_timestamp), null until one has (since the daemon started).

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
  // Per series (parallel to `identities`): a histogram's quantiles at the latest tick
  // that had observations; unix_ms 0 when none had.
  struct Known {
    double p50 = 0, p90 = 0, p99 = 0;
    int64_t unix_ms = 0;
  };
  std::vector<Known> known;
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
