// SPDX-License-Identifier: Apache-2.0
#include "history/storage_json.h"

namespace shmstats::history {
namespace {

nlohmann::json Time(int64_t ms) { return ms == 0 ? nlohmann::json(nullptr) : nlohmann::json(ms); }

}  // namespace

nlohmann::json StorageJson(const StorageStats& s) {
  nlohmann::json tables = nlohmann::json::array();
  for (const auto& t : s.tables) {
    tables.push_back({{"name", t.name}, {"rows", t.rows}, {"bytes", t.bytes}});
  }
  return {{"backend", s.backend},
          {"bytes", s.bytes},
          {"file_bytes", s.file_bytes},
          {"series", s.series},
          {"oldest_unix_ms", Time(s.oldest_ms)},
          {"newest_unix_ms", Time(s.newest_ms)},
          {"rollups_from_unix_ms", Time(s.rollup_from_ms)},
          {"rollups_until_unix_ms", Time(s.rollup_until_ms)},
          {"tables", std::move(tables)}};
}

}  // namespace shmstats::history
