// SPDX-License-Identifier: Apache-2.0
#include "daemon/http/dashboard_data.h"

namespace shmstats::daemon {

void AddPointBuckets(const std::vector<history::SeriesHistory>& result, nlohmann::json* doc) {
  nlohmann::json& series = (*doc)["series"];
  for (size_t s = 0; s < result.size() && s < series.size(); ++s) {
    const history::SeriesHistory& sh = result[s];
    if (sh.series.metric.type != MetricType::kHistogram) continue;
    nlohmann::json& points = series[s]["points"];
    for (size_t p = 0; p < sh.points.size() && p < points.size(); ++p) {
      HistogramValue h = history::PointHistogram(sh.series, sh.points[p].acc);
      nlohmann::json buckets = nlohmann::json::array();
      for (size_t i = 0; i < h.counts.size(); ++i) {
        if (h.counts[i] == 0) continue;
        buckets.push_back(
            {{"le", i < h.bounds.size() ? nlohmann::json(h.bounds[i]) : nlohmann::json("+Inf")},
             {"count", h.counts[i]}});
      }
      points[p]["buckets"] = std::move(buckets);
    }
  }
}

}  // namespace shmstats::daemon
