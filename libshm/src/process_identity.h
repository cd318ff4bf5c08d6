#pragma once

// Who a process is, for process-scoped series: its pid plus its start time (field 22
// of /proc/<pid>/stat, clock ticks after boot), so that a pid reused by a later
// process is not taken for the series' owner. Private to libshm.

#include <sys/types.h>

#include <cstdint>
#include <unordered_map>

namespace shmstats::process {

struct Identity {
  uint32_t pid = 0;
  uint64_t start = 0;  // 0: unknown (no such process)
};

// The calling process (recomputed after a fork). Thread-safe.
Identity Self();

// The start time of pid, or 0 if it does not exist or is a zombie (it has exited:
// it records nothing more). Reads /proc/<pid>/stat.
uint64_t StartTime(uint32_t pid);

// Answers "is the owner (pid, start) alive?" with kill(pid, 0) and the start time,
// caching each pid for the life of the object (one read pass). Not thread-safe.
class Liveness {
 public:
  bool Alive(uint32_t pid, uint64_t start);

 private:
  std::unordered_map<uint32_t, uint64_t> start_of_;  // pid -> its start time (0: none)
};

}  // namespace shmstats::process
