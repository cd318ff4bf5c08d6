// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <cmath>
#include <limits>

#include "shmstats/snapshot.h"

namespace shmstats {

double Quantile(const HistogramValue& h, double q) noexcept {
  if (h.count == 0 || !(q >= 0 && q <= 1) || h.counts.size() != h.bounds.size() + 1)
    return std::numeric_limits<double>::quiet_NaN();
  // As histogram_quantile(): rank q*count, found in the first (non-empty) bucket whose
  // cumulative count reaches it, which is the bucket holding the exact nearest-rank
  // quantile of the samples; then linear interpolation within that bucket.
  const double rank = q * static_cast<double>(h.count);
  uint64_t below = 0;
  for (size_t i = 0; i < h.counts.size(); ++i) {
    if (h.counts[i] == 0 || static_cast<double>(below + h.counts[i]) < rank) {
      below += h.counts[i];
      continue;
    }
    if (i == h.bounds.size()) return h.bounds.empty() ? 0.0 : h.bounds.back();
    double upper = h.bounds[i];
    double lower = i > 0 ? h.bounds[i - 1] : std::min(upper, 0.0);
    double fraction = (rank - static_cast<double>(below)) / static_cast<double>(h.counts[i]);
    return lower + (upper - lower) * std::clamp(fraction, 0.0, 1.0);
  }
  return h.bounds.empty() ? 0.0 : h.bounds.back();
}

}  // namespace shmstats
