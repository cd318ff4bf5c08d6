// SPDX-License-Identifier: Apache-2.0
#pragma once

// Idle expiry: series registered with a TTL (MetricSpec::ttl_seconds; the statsd
// door's --statsd-ttl) are deleted (Segment::Delete) once their values have not
// changed for that long, as the collector sees them tick to tick. The producers'
// recording is untouched: idleness is a comparison of two snapshots. A series is
// deleted only if its values are still those it was idle with, so a record that
// lands between the snapshot and the deletion keeps it; one that lands after the
// deletion goes into the deleted series and is not shown (a producer that records
// again registers again, which brings the series back from zero).
//
// Thread-safety: one thread, the collector's. Errors: none escape (a segment it may
// not write is left alone; its series then never expire).

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "shmstats/snapshot.h"

namespace shmstats::daemon {

class Expiry {
 public:
  // Notes each series with a TTL in `snap` (taken at now_ms) and which of them have
  // been idle for their TTL.
  void Observe(const Snapshot& snap, int64_t now_ms);
  // Deletes the idle series noted by the last Observe in segment `name` (through a
  // read-write mapping of its own, made only when there is one). Returns how many.
  uint32_t Run(const std::string& name);

 private:
  struct Seen {
    uint64_t identity = 0;     // SeriesIdentity(): a new series at the index starts over
    uint64_t values = 0;       // a hash of its values
    int64_t unchanged_ms = 0;  // since when they are these
    uint32_t tick = 0;
  };
  std::unordered_map<uint32_t, Seen> seen_;  // by descriptor index
  // Descriptor index -> identity (a series deleted and its room given to another key
  // at that index meanwhile is not deleted) and values hash when idle.
  std::unordered_map<uint32_t, std::pair<uint64_t, uint64_t>> due_;
  uint32_t ticks_ = 0;
  bool warned_ = false;
};

// A hash of a series' values (a counter's value and reset total, a gauge's value, a
// histogram's buckets and sum with their reset totals): equal while it is idle.
uint64_t ValuesHash(const MetricSnapshot& m);

}  // namespace shmstats::daemon
