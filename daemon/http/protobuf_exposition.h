// SPDX-License-Identifier: Apache-2.0
#pragma once

// The Prometheus protobuf exposition format of a snapshot (http/metrics.proto): a
// stream of MetricFamily messages, each preceded by its length as a varint
// ("encoding=delimited"). Prometheus asks for it first when native histograms are
// on (--enable-feature=native-histograms).
//
// The same families, series, names and HELP texts as the Prometheus text format
// (common::ForEachFamily). Counters and gauges as doubles. Histograms carry their
// classic buckets (cumulative, finite bounds; +Inf is sample_count) and, when
// exponential, also the native histogram (daemon/native_histogram.h), as
// client_golang sends both: a scraper that ignores native histograms loses nothing.
//
// Thread-safety: plain functions. Errors: none (every snapshot encodes).

#include <string>

#include "shmstats/snapshot.h"

namespace shmstats::daemon {

inline constexpr const char* kProtobufContentType =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
    "encoding=delimited";

std::string ToProtobuf(const Snapshot& snap);

}  // namespace shmstats::daemon
