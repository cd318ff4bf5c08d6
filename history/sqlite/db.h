// SPDX-License-Identifier: Apache-2.0
#pragma once

// A small RAII wrapper over the SQLite C API, for the history database.
//
// Thread-safety: a Db and its Stmts belong to one thread at a time (SQLite is built
// serialized on Debian, but statements carry cursor state).
// Ownership: a Stmt must not outlive the Db that prepared it.
// Errors: every failing call throws StoreError with SQLite's message and the kind
// its result code means (SqliteError).

#include <sqlite3.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "history/store.h"

namespace shmstats::history {

// The StoreError for SQLite result code `rc`: SQLITE_FULL is kFull, SQLITE_BUSY and
// SQLITE_LOCKED kBusy, SQLITE_CORRUPT and SQLITE_NOTADB kCorrupt, SQLITE_INTERRUPT
// kInterrupted, SQLITE_MISMATCH kVersion, anything else kUnavailable.
StoreError SqliteError(int rc, const std::string& message);

class Stmt {
 public:
  Stmt(sqlite3* db, std::string_view sql);
  Stmt(Stmt&& other) noexcept;
  Stmt& operator=(Stmt&&) = delete;
  ~Stmt();

  // Binds are 1-based, as in SQLite. Text and blobs are copied (SQLITE_TRANSIENT).
  Stmt& Bind(int i, int64_t v);
  Stmt& Bind(int i, double v);
  Stmt& Bind(int i, std::string_view text);
  Stmt& BindBlob(int i, std::string_view bytes);
  Stmt& BindNull(int i);

  // Steps once: true while a row is available, false when done.
  bool Step();
  // Runs a statement that returns no rows, then resets it for reuse.
  void Run();
  // Resets the cursor and clears bindings, ready for new values.
  void Reset();

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  // SQLite stores a NaN as NULL: a NULL reads back as NaN.
  double Double(int col) const {
    return IsNull(col) ? std::numeric_limits<double>::quiet_NaN()
                       : sqlite3_column_double(stmt_, col);
  }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  bool IsInteger(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_INTEGER; }
  bool IsBlob(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_BLOB; }
  std::string_view Text(int col) const;
  std::string_view Blob(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

class Db {
 public:
  enum class Mode { kReadOnly, kReadWrite };
  // Opens (kReadWrite: creating) the database file; sets a busy timeout so that a
  // reader and the daemon's writer wait for each other briefly instead of failing.
  Db(const std::string& path, Mode mode);
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db();

  void Exec(std::string_view sql);
  Stmt Prepare(std::string_view sql) { return Stmt(db_, sql); }
  int64_t Changes() const { return sqlite3_changes64(db_); }
  sqlite3* raw() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

// Begins a transaction (BEGIN IMMEDIATE for writers) and rolls it back unless
// Commit() was called.
class Transaction {
 public:
  explicit Transaction(Db& db, bool immediate = true);
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();
  void Commit();

 private:
  Db& db_;
  bool done_ = false;
};

}  // namespace shmstats::history
