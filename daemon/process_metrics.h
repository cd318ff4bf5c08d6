// SPDX-License-Identifier: Apache-2.0
#pragma once

// The standard process metrics (prometheus_client's names) of shmstatsd itself and of
// every live producer that allows them, read from /proc at scrape time, with no work
// in the producer:
//
//   process_cpu_seconds_total       counter  user + system CPU time
//   process_resident_memory_bytes   gauge
//   process_open_fds                gauge    (only where /proc/<pid>/fd may be listed)
//   process_threads                 gauge
//   process_start_time_seconds      gauge    Unix time the process started
//
// shmstatsd's own series are unlabelled, as prometheus_client exports a process's
// own; a producer's carry job (its job name, else its command name) and pid. A
// producer whose /proc entry this daemon cannot see (another user's, under the
// unit's ProtectProc=invisible), whose pid now names another process (start time
// differs), or that opted out, has none; the hidden ones are counted in
// shmstatsd_process_metrics_hidden. Liveness comes from the segment (owner locks),
// never from /proc.
//
// Thread-safety: Collect may be called from any thread; it keeps no state.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "shmstats/segment.h"
#include "shmstats/snapshot.h"

namespace shmstats::daemon {

// One process's figures from /proc/<pid>/{stat,fd}.
struct ProcStats {
  double cpu_seconds = 0;
  double resident_bytes = 0;
  std::optional<double> open_fds;  // nullopt: the fd directory may not be listed
  double threads = 0;
  double start_time_seconds = 0;
};

// Reads /proc/<pid>; nullopt if it is hidden, gone, or (expected_start != 0) its
// start time is not expected_start (clock ticks after boot).
std::optional<ProcStats> ReadProc(uint32_t pid, uint64_t expected_start = 0);

// Appends the process_* families (and shmstatsd_process_metrics_hidden) for this
// process and the live producers of `segment` (may be null) to `out`.
void CollectProcessMetrics(const Segment* segment, std::vector<MetricSnapshot>& out);

}  // namespace shmstats::daemon
