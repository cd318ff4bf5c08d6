// SPDX-License-Identifier: Apache-2.0
#pragma once

// Compact encodings of stored samples (history schema version 1). Counters are
// stored as SQLite integers (their delta), gauges as integers when integral and as
// reals otherwise; histogram deltas as a blob:
//
//   sum      8 bytes, little-endian IEEE-754 double (the interval's sum of values)
//   pairs    for every non-zero bucket in index order: varint(index - previous index
//            - 1), varint(count); LEB128 varints, 7 bits per byte
//
// An empty interval encodes as the 8-byte sum alone.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace shmstats::history {

std::string EncodeBuckets(const std::vector<uint64_t>& counts, double sum);

// Adds the decoded bucket counts into `counts` (sized by the caller to the series'
// bucket count) and the sum into `sum`. Returns false, touching nothing beyond what
// it decoded so far, when the blob is malformed or names a bucket out of range.
bool DecodeBucketsInto(std::string_view blob, std::vector<uint64_t>& counts, double& sum);

// Bounds of a histogram series as stored in the series table: 8-byte doubles.
std::string EncodeBounds(const std::vector<double>& bounds);
std::vector<double> DecodeBounds(std::string_view blob);

}  // namespace shmstats::history
