#pragma once

// The PostgreSQL store (libpq), for a fleet's one history: every daemon writes its
// series under its instance name.
//
//   shmstats_series(id, instance, name, labels, type, bounds, precision, help, unit)
//   shmstats_samples(ts_ms, series, interval_ms, delta, gauge, buckets)
//       PRIMARY KEY (series, ts_ms), PARTITION BY RANGE (ts_ms): one partition per
//       UTC day, created by the writer; retention drops whole partitions.
//
// A tick is one transaction and one INSERT ... SELECT FROM unnest(...) of all its
// samples, ON CONFLICT (series, ts_ms) DO NOTHING: a tick sent again adds nothing.
// Every value is a bound parameter. There are no hourly rollups: queries read raw
// samples for as long as retention keeps them.
// Errors: DbError (code -1) with libpq's message.

#include <memory>
#include <string>
#include <string_view>

#include "history/store.h"

namespace shmstats::history {

// True for postgresql:// and postgres:// URLs.
bool IsPostgresUrl(std::string_view location);

std::unique_ptr<Store> OpenPostgresStore(const std::string& url);
std::unique_ptr<StoreWriter> OpenPostgresWriter(const std::string& url,
                                                const std::string& instance);

}  // namespace shmstats::history
