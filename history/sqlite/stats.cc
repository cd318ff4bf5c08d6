// SPDX-License-Identifier: Apache-2.0
#include "history/sqlite/stats.h"

#include <sys/stat.h>

#include <string>

#include "history/sqlite/db.h"

namespace shmstats::history {
namespace {

int64_t FileBytes(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

}  // namespace

StorageStats SqliteStats(Db& db) {
  StorageStats st;
  st.backend = "sqlite";
  Stmt pages =
      db.Prepare("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()");
  if (pages.Step()) st.bytes = pages.Int(0);
  const char* file = sqlite3_db_filename(db.raw(), "main");
  if (file && *file) st.file_bytes = FileBytes(file) + FileBytes(std::string(file) + "-wal");
  // Index pages count with their table (series' unique index, ticks' ts_ms index).
  Stmt sizes = db.Prepare(
      "SELECT s.tbl_name, sum(d.pgsize) FROM dbstat d JOIN sqlite_schema s ON s.name = d.name "
      "WHERE s.tbl_name IN ('series', 'ticks', 'samples', 'rollup_hours', 'rollups', 'meta') "
      "GROUP BY s.tbl_name ORDER BY s.tbl_name");
  while (sizes.Step()) {
    std::string name(sizes.Text(0));
    Stmt count = db.Prepare("SELECT count(*) FROM " + name);  // one of the names above
    st.tables.push_back({name, count.Step() ? count.Int(0) : 0, sizes.Int(1)});
    if (name == "series") st.series = st.tables.back().rows;
  }
  Stmt range = db.Prepare("SELECT min(ts_ms), max(ts_ms) FROM ticks");
  if (range.Step() && !range.IsNull(0)) {
    st.oldest_ms = range.Int(0);
    st.newest_ms = range.Int(1);
  }
  Stmt hours = db.Prepare("SELECT min(hour), max(hour) FROM rollup_hours");
  if (hours.Step() && !hours.IsNull(0)) {
    st.rollup_from_ms = hours.Int(0) * kHourMs;
    st.rollup_until_ms = (hours.Int(1) + 1) * kHourMs;
  }
  return st;
}

}  // namespace shmstats::history
