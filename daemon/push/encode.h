// SPDX-License-Identifier: Apache-2.0
#pragma once

// Prometheus remote-write 1.0 request bodies (remote_write.proto, snappy block
// compression) of one tick's snapshot.
//
// Series are named exactly as /metrics names them (common::ForEachSample: one code
// for both): counters and gauges as themselves, explicit-bucket histograms as
// _bucket{le=...}, _count and _sum. Exponential histograms go as native histograms
// (the Histogram message, made by daemon/native_histogram.h) in one series named as
// the family, each counted as one sample; with `classic_histograms` (for receivers
// without native histograms) as explicit ones are. Values are cumulative across resets: a counter
// is its value plus its reset total, a histogram's buckets and sum likewise, so increase() and
// rate() on the receiver stay exact when a producer resets. Every series gets the target's labels
// job="<job>" (left out when empty) and instance="<instance>", as a Prometheus scrape would give
// them, so rules and dashboards written for scraped data work on pushed data; a series' own `job`
// or `instance` label is sent as `exported_job` / `exported_instance` (as Prometheus renames them
// when it scrapes). Labels are sorted by name, every sample has the snapshot's timestamp. The first
// request of a tick also carries every family's metadata (type, help, unit: the MetricMetadata of
// remote-write 1.0), named as /metrics names it.
//
// Thread-safety: plain functions. Errors: none (every snapshot encodes).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "shmstats/snapshot.h"

namespace shmstats::daemon {

// Samples per request: the receivers' usual default (Prometheus sends at most 2,000).
inline constexpr size_t kRemoteWriteMaxSamples = 2000;

struct RemoteWriteBatch {
  std::string body;  // a snappy-compressed WriteRequest
  size_t samples = 0;
  int64_t unix_ms = 0;
};

// The labels a scrape would add: the scrape job's name and the target's instance.
struct RemoteWriteTarget {
  std::string job;
  std::string instance;
};

// Consumes `snap` (made cumulative in place) and returns its samples in requests of
// at most `max_samples` samples.
std::vector<RemoteWriteBatch> EncodeRemoteWrite(Snapshot snap, int64_t unix_ms,
                                                const RemoteWriteTarget& target,
                                                size_t max_samples = kRemoteWriteMaxSamples,
                                                bool classic_histograms = false);

// How many samples EncodeRemoteWrite makes of `snap`, without encoding (an upper
// bound: families /metrics leaves out are counted).
size_t RemoteWriteSamples(const Snapshot& snap, bool classic_histograms = false);

}  // namespace shmstats::daemon
