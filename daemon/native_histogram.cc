// SPDX-License-Identifier: Apache-2.0
#include "daemon/native_histogram.h"

namespace shmstats::daemon {
namespace {

// Gaps of at most this many empty buckets stay inside a span (as client_golang
// does): a span costs two numbers, an empty bucket one delta.
constexpr int64_t kMaxGapInSpan = 2;

// Adds bucket `index` with `count` to one sign's spans and deltas; buckets come in
// increasing index order.
struct SignBuilder {
  std::vector<NativeSpan>& spans;
  std::vector<int64_t>& deltas;
  int64_t next = 0;  // the index after the last bucket added
  uint64_t previous = 0;

  void Add(int64_t index, uint64_t count) {
    if (count == 0) return;
    int64_t gap = index - next;
    if (!spans.empty() && gap <= kMaxGapInSpan) {
      for (; next < index; ++next) Push(0);
      spans.back().length += static_cast<uint32_t>(gap);
    } else {
      spans.push_back({static_cast<int32_t>(spans.empty() ? index : gap), 0});
    }
    Push(count);
    ++spans.back().length;
    next = index + 1;
  }
  void Push(uint64_t count) {
    deltas.push_back(static_cast<int64_t>(count - previous));
    previous = count;
  }
};

}  // namespace

NativeHistogram ToNative(const HistogramValue& h) {
  NativeHistogram n;
  n.schema = h.schema;
  n.zero_threshold = h.zero_threshold;
  n.sum = h.sum;
  for (uint64_t c : h.counts) n.count += c;
  if (h.counts.size() < 3) return n;
  // counts: [negative overflow][negative last..first][zero][positive first..last][+Inf]
  const size_t buckets = (h.counts.size() - 3) / 2;
  const int64_t first = h.first_index;
  const int64_t last = first + static_cast<int64_t>(buckets) - 1;
  const size_t zero = buckets + 1;
  n.zero_count = h.counts[zero];
  SignBuilder negative{n.negative_spans, n.negative_deltas};
  for (size_t j = buckets; j >= 1; --j) {
    negative.Add(first + static_cast<int64_t>(buckets - j), h.counts[j]);
  }
  negative.Add(last + 1, h.counts[0]);
  SignBuilder positive{n.positive_spans, n.positive_deltas};
  for (size_t k = 0; k < buckets; ++k)
    positive.Add(first + static_cast<int64_t>(k), h.counts[zero + 1 + k]);
  positive.Add(last + 1, h.counts.back());
  return n;
}

}  // namespace shmstats::daemon
