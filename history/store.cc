// The one place that chooses a store implementation from a location.

#include "history/store.h"

#include "history/postgres/store.h"
#include "history/sqlite/reader.h"

namespace shmstats::history {

std::unique_ptr<Store> OpenStore(const std::string& location) {
  if (IsPostgresUrl(location)) return OpenPostgresStore(location);
  return OpenSqliteStore(location);
}

std::unique_ptr<StoreWriter> OpenWriter(const std::string& location, const std::string& instance) {
  if (IsPostgresUrl(location)) return OpenPostgresWriter(location, instance);
  return std::make_unique<HistoryWriter>(location, instance);
}

}  // namespace shmstats::history
