// SPDX-License-Identifier: Apache-2.0
// The names of a series (history/store.h), shared by every back end and the queries.

#include <string>

#include "common/exposition.h"
#include "history/codec.h"
#include "history/store.h"

namespace shmstats::history {

std::string SeriesText(const std::string& name, const Labels& labels) {
  return name + common::LabelsText(labels);
}

std::string SeriesKey(const MetricSnapshot& m) {
  std::string key = common::SeriesKey(m.name, m.labels);
  key += static_cast<char>('0' + static_cast<int>(m.type));
  if (m.type == MetricType::kHistogram) key += EncodeBounds(m.histogram.bounds);
  return key;
}

}  // namespace shmstats::history
