// Process identity: pid plus start time from /proc, and a per-pass liveness cache.

#include "process_identity.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

namespace shmstats::process {

uint64_t StartTime(uint32_t pid) {
  if (pid == 0) return 0;
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses; the last ')'
  // ends it. Then field 3 is the state and field 22 the start time.
  const char* p = std::strrchr(buf, ')');
  if (!p || p[1] != ' ') return 0;
  p += 2;
  if (*p == 'Z' || *p == 'X') return 0;  // exited: only its parent's wait remains
  for (int field = 3; field < 22; ++field) {
    p = std::strchr(p, ' ');
    if (!p) return 0;
    ++p;
  }
  char* end = nullptr;
  unsigned long long start = std::strtoull(p, &end, 10);
  return end != p ? start : 0;
}

Identity Self() {
  static std::mutex mutex;
  static Identity cached;
  const auto pid = static_cast<uint32_t>(::getpid());
  std::lock_guard lock(mutex);
  if (cached.pid != pid) cached = {pid, StartTime(pid)};
  return cached;
}

bool Liveness::Alive(uint32_t pid, uint64_t start) {
  if (pid == 0 || start == 0) return false;
  auto [it, fresh] = start_of_.emplace(pid, 0);
  if (fresh) {
    // kill(pid, 0) first: cheap, and enough when the pid is free (ESRCH).
    bool exists = ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
    it->second = exists ? StartTime(pid) : 0;
  }
  return it->second == start;
}

}  // namespace shmstats::process
