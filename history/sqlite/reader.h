// SPDX-License-Identifier: Apache-2.0
#pragma once

// The SQLite store's read side (history/sqlite/schema.h has its tables).

#include <memory>
#include <string>

#include "history/store.h"

namespace shmstats::history {

class Stmt;

// Opens the database at `path` read-only; throws DbError when it is missing,
// unreadable or of a schema version this build does not read.
std::unique_ptr<Store> OpenSqliteStore(const std::string& path);

// Column `col` of `row` as the writer stored it: a counter's delta or an integral
// gauge as an integer, a gauge as a real, a histogram as a history/codec.h blob.
StoredValue ReadValue(const Stmt& row, int col);

}  // namespace shmstats::history
