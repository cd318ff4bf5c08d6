// SPDX-License-Identifier: Apache-2.0
#pragma once

// The SQLite store's storage statistics: every table's rows (counted) and bytes
// (its pages and its indexes' pages, from the dbstat virtual table), the database's
// page_count * page_size, and the file and its WAL as the file system sees them.

#include "history/store.h"

namespace shmstats::history {

class Db;

// Throws StoreError (kUnavailable) when the database cannot be read.
StorageStats SqliteStats(Db& db);

}  // namespace shmstats::history
