// SPDX-License-Identifier: Apache-2.0
#pragma once

// STATE_DIR/baseline: where the history stands, so that history stays exact across a
// restart, graceful or SIGKILL. Written (replaced atomically, fsynced) every tick
// BEFORE that tick goes to the history store or spool: the aggregator's cumulative
// values after the tick, and the tick's record itself. A daemon that starts reads it
// back, restores the aggregator (its first tick records the increase since that
// tick), and sends the record again: if the store already holds it (the daemon died
// after writing it), the store ignores it (StoreWriter::Write is idempotent by tick
// time); if it does not (the daemon died before), it goes in now. So each increment
// reaches the history exactly once, whenever the daemon dies.
//
// A segment re-created meanwhile (another instance_id: a reboot, `statsctl remove`)
// is counted from zero, as a reset (Aggregator::Restore).
//
// Format: a frame (byte_codec.h) under "SHMBAS1\n" of u64 instance_id, i64 last_ms,
// u32 series, and per series u32 index, u64 identity, u64 counter, double sum, u32
// bucket count and u64 counts; then the record as a spool tick (tick_spool.h),
// framed, as a u32 length and bytes.
//
// Errors: SaveBaseline throws shmstats::Error naming the path (the caller removes the
// file then: an old baseline would count an interval twice); LoadBaseline returns
// nullopt for a missing, torn or damaged file.

#include <optional>
#include <string>

#include "daemon/aggregate.h"
#include "history/store.h"

namespace shmstats::daemon {

struct Baseline {
  AggregatorState state;
  history::TickRecord record;  // the tick that state follows
};

void SaveBaseline(const std::string& path, const AggregatorState& state,
                  const history::TickRecord& record);
std::optional<Baseline> LoadBaseline(const std::string& path);

}  // namespace shmstats::daemon
