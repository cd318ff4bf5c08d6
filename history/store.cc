// SPDX-License-Identifier: Apache-2.0
// The one place that chooses a store implementation from a location, and loads the
// PostgreSQL back end when a location needs it.

#include "history/store.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <mutex>

#include "history/postgres/store.h"
#include "history/sqlite/reader.h"
#include "history/sqlite/writer.h"

namespace shmstats::history {
namespace {

// The PostgreSQL back end is a module so that libpq and the libraries behind it
// (Kerberos, LDAP, GnuTLS, SASL...) are mapped only by a process that opens a
// PostgreSQL URL: statsctl and a daemon on SQLite start without relocating them.
struct PgModule {
  decltype(&shmstats_history_pg_open_store) open_store = nullptr;
  decltype(&shmstats_history_pg_open_writer) open_writer = nullptr;
};

// $SHMSTATS_MODULE_DIR, else the library directory beside the running program's
// (bin/ and sbin/ are both one level below the prefix; the build tree mirrors it).
std::string ModulePath() {
  const char* dir = std::getenv("SHMSTATS_MODULE_DIR");
  if (dir && *dir) return fmt::format("{}/{}", dir, kPgModuleFile);
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  std::string program = n > 0 ? std::string(exe, static_cast<size_t>(n)) : std::string();
  return fmt::format("{}{}/{}", program.substr(0, program.rfind('/') + 1), SHMSTATS_MODULE_RELDIR,
                     kPgModuleFile);
}

// Loaded once and never unloaded: stores and writers it made point into its code.
const PgModule& LoadPg() {
  static std::mutex mu;
  static PgModule module;
  std::lock_guard lock(mu);
  if (module.open_store) return module;
  const std::string path = ModulePath();
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    throw StoreError(StoreError::Kind::kUnavailable,
                     fmt::format("the PostgreSQL history store needs its module ({})", dlerror()));
  }
  PgModule m;
  m.open_store =
      reinterpret_cast<decltype(m.open_store)>(dlsym(handle, "shmstats_history_pg_open_store"));
  m.open_writer =
      reinterpret_cast<decltype(m.open_writer)>(dlsym(handle, "shmstats_history_pg_open_writer"));
  if (!m.open_store || !m.open_writer) {
    throw StoreError(StoreError::Kind::kUnavailable,
                     fmt::format("{} is not a shmstats PostgreSQL module", path));
  }
  module = m;
  return module;
}

}  // namespace

bool IsPostgresUrl(std::string_view location) {
  return location.starts_with("postgresql://") || location.starts_with("postgres://");
}

std::unique_ptr<Store> OpenStore(const std::string& location) {
  if (IsPostgresUrl(location)) return std::unique_ptr<Store>(LoadPg().open_store(location.c_str()));
  return OpenSqliteStore(location);
}

std::unique_ptr<StoreWriter> OpenWriter(const std::string& location, const std::string& instance,
                                        int64_t timeout_ms) {
  if (IsPostgresUrl(location)) {
    return std::unique_ptr<StoreWriter>(
        LoadPg().open_writer(location.c_str(), instance.c_str(), timeout_ms));
  }
  return std::make_unique<SqliteWriter>(location, instance);
}

}  // namespace shmstats::history
