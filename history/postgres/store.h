// SPDX-License-Identifier: Apache-2.0
#pragma once

// The PostgreSQL store (libpq), for a fleet's one history: every daemon writes its
// series under its instance name. Built as a module (shmstats_history_pg.so) that
// history/store.cc loads when a postgresql:// URL is opened; nothing else includes
// this header.
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
// Errors: StoreError (kUnavailable) with libpq's message.

#include "history/store.h"

namespace shmstats::history {

// The module's file name, in the library directory's shmstats/ folder.
inline constexpr const char* kPgModuleFile = "shmstats_history_pg.so";

}  // namespace shmstats::history

// The module's entry points, found with dlsym. Each returns a new object the caller
// owns (delete it through the base class), or throws StoreError.
extern "C" {
shmstats::history::Store* shmstats_history_pg_open_store(const char* url);
shmstats::history::StoreWriter* shmstats_history_pg_open_writer(const char* url,
                                                                const char* instance);
}
