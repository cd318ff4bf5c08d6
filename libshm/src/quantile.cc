#include <cmath>
#include <limits>

#include "shmstats/snapshot.h"

namespace shmstats {

double Quantile(const HistogramValue& h, double q) noexcept {
  if (h.count == 0 || !(q >= 0 && q <= 1) || h.counts.size() != h.bounds.size() + 1)
    return std::numeric_limits<double>::quiet_NaN();
  // Rank of the wanted observation, 1-based: the nearest-rank definition, so that
  // the bucket found is the one holding the exact quantile of the samples.
  double rank = std::max(1.0, std::ceil(q * static_cast<double>(h.count)));
  uint64_t below = 0;
  for (size_t i = 0; i < h.counts.size(); ++i) {
    if (static_cast<double>(below + h.counts[i]) < rank) {
      below += h.counts[i];
      continue;
    }
    if (i == h.bounds.size()) return h.bounds.empty() ? 0.0 : h.bounds.back();
    double upper = h.bounds[i];
    double lower = i > 0 ? h.bounds[i - 1] : (upper > 0 ? 0.0 : upper);
    double fraction = (rank - static_cast<double>(below)) / static_cast<double>(h.counts[i]);
    return lower + (upper - lower) * fraction;
  }
  return h.bounds.empty() ? 0.0 : h.bounds.back();
}

}  // namespace shmstats
