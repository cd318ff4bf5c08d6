// SPDX-License-Identifier: Apache-2.0
#pragma once

// A store writer's map from a tick's samples to the ids of their series rows.
//
// A sample is found first by its descriptor index and identity hash
// (TickRecord::identities): one comparison, no key string built. On a miss (a
// new series, a reused descriptor, a tick read back from the spool without
// identities) it is found by its key (SeriesKey: name, labels, type, bounds), and
// a series the store does not hold yet is inserted by the writer's callback.
//
// Thread-safety: one thread, the writer's. Errors: whatever `insert` throws; the
// map is then unchanged. After a rolled-back transaction call Clear() and Add()
// the ids the store still holds.

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "shmstats/snapshot.h"

namespace shmstats::history {

class SeriesIds {
 public:
  using Insert = std::function<int64_t(const MetricSnapshot&)>;

  // The id of `m`'s series; `identity` is 0 when the caller has none.
  int64_t Find(const MetricSnapshot& m, uint64_t identity, const Insert& insert);
  // A series the store already holds (loading its catalogue).
  void Add(std::string key, int64_t id) { by_key_.emplace(std::move(key), id); }
  void Clear();

 private:
  struct Slot {
    uint64_t identity = 0;
    int64_t id = 0;
  };
  std::vector<Slot> by_index_;  // by descriptor index
  std::unordered_map<std::string, int64_t> by_key_;
};

}  // namespace shmstats::history
