// SPDX-License-Identifier: Apache-2.0
#include "history/series_ids.h"

#include "history/store.h"

namespace shmstats::history {

int64_t SeriesIds::Find(const MetricSnapshot& m, uint64_t identity, const Insert& insert) {
  if (identity != 0 && m.index < by_index_.size() && by_index_[m.index].identity == identity) {
    return by_index_[m.index].id;
  }
  std::string key = SeriesKey(m);
  int64_t id = 0;
  if (auto it = by_key_.find(key); it != by_key_.end()) {
    id = it->second;
  } else {
    id = insert(m);
    by_key_.emplace(std::move(key), id);
  }
  if (identity != 0) {
    if (m.index >= by_index_.size()) by_index_.resize(m.index + 1);
    by_index_[m.index] = {identity, id};
  }
  return id;
}

void SeriesIds::Clear() {
  by_index_.clear();
  by_key_.clear();
}

}  // namespace shmstats::history
