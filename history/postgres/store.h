// SPDX-License-Identifier: Apache-2.0
#pragma once

// The PostgreSQL store (libpq), for a fleet's one history: every daemon writes its
// series under its instance name, with hourly rollups as SQLite keeps them (the
// tables: postgres/schema.h; the writer: postgres/writer.h; the connection, whose
// calls all have a deadline: postgres/conn.h). Built as a module
// (shmstats_history_pg.so) that history/store.cc loads when a postgresql:// URL is
// opened; nothing else includes this header.
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
                                                                const char* instance,
                                                                int64_t timeout_ms);
}
