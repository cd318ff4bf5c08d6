// SPDX-License-Identifier: Apache-2.0
#pragma once

// The size of a SQLite history database as the history benchmarks report it.

#include <string>
#include <utility>

#include "history/sqlite/db.h"

namespace shmstats::bench {

// Bytes in use (pages less the free list, after a WAL checkpoint) and sample rows
// of the SQLite history database at `path`. Throws history::StoreError.
inline std::pair<double, double> SqliteFootprint(const std::string& path) {
  history::Db db(path, history::Db::Mode::kReadWrite);
  db.Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  auto q = db.Prepare(
      "SELECT (SELECT page_count FROM pragma_page_count()) - "
      "(SELECT freelist_count FROM pragma_freelist_count()), "
      "(SELECT page_size FROM pragma_page_size()), (SELECT count(*) FROM samples)");
  q.Step();
  return {static_cast<double>(q.Int(0) * q.Int(1)), static_cast<double>(q.Int(2))};
}

}  // namespace shmstats::bench
