// SPDX-License-Identifier: Apache-2.0
// Process identity (pid plus start time) and liveness through a lock on the segment.

#include "process_identity.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>

namespace shmstats::process {
namespace {

// A stand-in for the start time when /proc/self/stat cannot be read (no /proc):
// unique per process life as (pid, start) needs to be, never 0.
uint64_t BootClockToken() {
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return (static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec)) |
         1u;
}

std::atomic<uint32_t> cached_pid{0};  // SelfPid()
std::atomic<uint64_t> forks{0};       // Forks()

// Forgets the pid in a child, counts the fork in the parent.
void WatchForks() {
  [[maybe_unused]] static const int watching = pthread_atfork(
      nullptr, [] { forks.fetch_add(1, std::memory_order_seq_cst); },
      [] { cached_pid.store(0, std::memory_order_relaxed); });
}

enum class Proc { kRuns, kExited, kUnknown };

// pid's start time in *start if it runs; kExited if it is a zombie (it records
// nothing more) or its entry is gone; kUnknown if its entry cannot be read or parsed
// (no /proc, or another process's entry hidden: ProtectProc=invisible reads as absent).
Proc ReadStart(uint32_t pid, uint64_t* start) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Proc::kUnknown;
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n < 0) return errno == ESRCH ? Proc::kExited : Proc::kUnknown;
  if (n == 0) return Proc::kUnknown;
  buf[n] = '\0';
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses; the last ')'
  // ends it. Then field 3 is the state and field 22 the start time.
  const char* p = std::strrchr(buf, ')');
  if (!p || p[1] != ' ') return Proc::kUnknown;
  p += 2;
  if (*p == 'Z' || *p == 'X') return Proc::kExited;  // only its parent's wait remains
  for (int field = 3; field < 22; ++field) {
    p = std::strchr(p, ' ');
    if (!p) return Proc::kUnknown;
    ++p;
  }
  char* end = nullptr;
  unsigned long long value = std::strtoull(p, &end, 10);
  if (end == p || value == 0) return Proc::kUnknown;
  *start = value;
  return Proc::kRuns;
}

}  // namespace

uint64_t StartTime(uint32_t pid) {
  uint64_t start = 0;
  return pid != 0 && ReadStart(pid, &start) == Proc::kRuns ? start : 0;
}

uint32_t SelfPid() {
  WatchForks();
  uint32_t pid = cached_pid.load(std::memory_order_relaxed);
  if (pid == 0) {
    pid = static_cast<uint32_t>(::getpid());
    cached_pid.store(pid, std::memory_order_relaxed);
  }
  return pid;
}

uint64_t Forks() {
  WatchForks();
  return forks.load(std::memory_order_seq_cst);
}

Identity Self() {
  static std::mutex mutex;
  static Identity cached;
  const auto pid = static_cast<uint32_t>(::getpid());
  std::lock_guard lock(mutex);
  if (cached.pid != pid) {
    const uint64_t start = StartTime(pid);
    cached = {pid, start != 0 ? start : BootClockToken()};
  }
  return cached;
}

off_t OwnerLockOffset(const Identity& owner) {
  // pid_max is at most 2^22: the sum stays below 2^62 + 2^61.
  constexpr uint64_t kBase = uint64_t{1} << 62;
  constexpr uint64_t kStartBits = 39;
  const uint64_t pid = owner.pid & ((uint64_t{1} << 22) - 1);
  return static_cast<off_t>(kBase | (pid << kStartBits) |
                            (owner.start & ((uint64_t{1} << kStartBits) - 1)));
}

std::optional<bool> ByteLocked(int fd, off_t byte) {
  struct flock probe {};
  probe.l_type = F_WRLCK;  // conflicts with any lock
  probe.l_whence = SEEK_SET;
  probe.l_start = byte;
  probe.l_len = 1;
  if (::fcntl(fd, F_OFD_GETLK, &probe) != 0) return std::nullopt;
  return probe.l_type != F_UNLCK;
}

bool LockByte(int fd, off_t byte, short type) {
  struct flock lock {};
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = byte;
  lock.l_len = 1;
  return ::fcntl(fd, F_OFD_SETLK, &lock) == 0;
}

bool LockOwner(int fd, const Identity& owner) {
  return LockByte(fd, OwnerLockOffset(owner), F_RDLCK);  // needs only read access
}

bool Holding(int fd, uint32_t pid, uint64_t start) {
  if (pid == 0 || start == 0) return false;
  const std::optional<bool> held = ByteLocked(fd, OwnerLockOffset({pid, start}));
  if (!held.has_value()) return true;  // cannot tell: keep it
  if (*held) return true;
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM) return false;  // no such pid
  // Its pid runs: another process unless /proc shows another start time or an exit.
  // When /proc cannot tell (hidden, absent), it holds.
  uint64_t now_start = 0;
  switch (ReadStart(pid, &now_start)) {
    case Proc::kRuns:
      return now_start == start;
    case Proc::kExited:
      return false;
    case Proc::kUnknown:
      break;
  }
  return true;
}

bool Liveness::Alive(uint32_t pid, uint64_t start) {
  if (pid == 0 || start == 0) return false;
  auto [it, fresh] = seen_.emplace(pid, std::pair<uint64_t, bool>{start, false});
  if (!fresh && it->second.first == start) return it->second.second;
  // kill(pid, 0) first: cheap, and enough when the pid is free (ESRCH). It needs no
  // /proc, and EPERM (another user's process) still says that the pid exists.
  bool alive = ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
  if (alive) {
    const std::optional<bool> held = ByteLocked(fd_, OwnerLockOffset({pid, start}));
    alive = held.value_or(false) || StartTime(pid) == start;
  }
  it->second = {start, alive};
  return alive;
}

}  // namespace shmstats::process
