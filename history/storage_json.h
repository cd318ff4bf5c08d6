// SPDX-License-Identifier: Apache-2.0
#pragma once

// A store's storage statistics (history/store.h, StorageStats) as JSON, the one
// shape `statsctl history info --json` and the daemon's /healthz ("store") share
// (docs/history-info.schema.json). Times are unix ms, null when the store has none.

#include <nlohmann/json.hpp>

#include "history/store.h"

namespace shmstats::history {

nlohmann::json StorageJson(const StorageStats& s);

}  // namespace shmstats::history
