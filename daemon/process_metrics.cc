// SPDX-License-Identifier: Apache-2.0
#include "daemon/process_metrics.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <unordered_set>

#include "daemon/self_metrics.h"
#include "shmstats/error.h"

namespace shmstats::daemon {
namespace {

// Unix time of the boot, from the clocks (/proc/stat's btime is hidden by the unit's
// ProcSubset=pid): start times in /proc count from it.
double BootTime() {
  timespec real{}, boot{};
  clock_gettime(CLOCK_REALTIME, &real);
  clock_gettime(CLOCK_BOOTTIME, &boot);
  return static_cast<double>(real.tv_sec - boot.tv_sec) +
         static_cast<double>(real.tv_nsec - boot.tv_nsec) / 1e9;
}

std::optional<double> CountFds(uint32_t pid) {
  DIR* dir = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (!dir) return std::nullopt;
  double n = 0;
  while (const dirent* e = readdir(dir)) n += e->d_name[0] != '.';
  closedir(dir);
  return n;
}

struct Family {
  const char* name;
  MetricType type;
  const char* help;
  const char* unit;
};

constexpr Family kFamilies[] = {
    {"process_cpu_seconds_total", MetricType::kCounter, "Total user and system CPU time spent",
     "seconds"},
    {"process_resident_memory_bytes", MetricType::kGauge, "Resident memory size", "bytes"},
    {"process_open_fds", MetricType::kGauge, "Number of open file descriptors", ""},
    {"process_threads", MetricType::kGauge, "Number of OS threads in the process", ""},
    {"process_start_time_seconds", MetricType::kGauge, "Start time of the process since unix epoch",
     "seconds"},
};

// Adds one process's series, one per family that has a value, at the end of each
// family's run in `by_family`.
void Add(const ProcStats& p, const Labels& labels, std::vector<MetricSnapshot> (&by_family)[5]) {
  const std::optional<double> values[5] = {p.cpu_seconds, p.resident_bytes, p.open_fds, p.threads,
                                           p.start_time_seconds};
  for (size_t f = 0; f < 5; ++f) {
    if (!values[f]) continue;
    const Family& family = kFamilies[f];
    MetricSnapshot m = OwnMetric(family.name, family.type, family.help, family.unit);
    m.labels = labels;
    if (family.type == MetricType::kCounter) {
      m.fractional = true;
      m.counter_double = *values[f];
      m.counter = WholePart(*values[f]);
    } else {
      m.gauge = *values[f];
    }
    by_family[f].push_back(std::move(m));
  }
}

}  // namespace

std::optional<ProcStats> ReadProc(uint32_t pid, uint64_t expected_start) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  buf[n] = '\0';
  // "pid (comm) state ...": comm may hold spaces and parentheses; the last ')' ends it.
  const char* p = std::strrchr(buf, ')');
  if (!p || p[1] != ' ') return std::nullopt;
  p += 2;
  // Fields from 3 (state) on; we need 14 utime, 15 stime, 20 num_threads, 22
  // starttime, 24 rss (pages).
  unsigned long long field[25] = {};
  for (int i = 3; i <= 24 && *p; ++i) {
    if (i > 3) field[i] = std::strtoull(p, nullptr, 10);
    p = std::strchr(p, ' ');
    if (!p) break;
    ++p;
  }
  if (expected_start != 0 && field[22] != expected_start) return std::nullopt;  // pid reused
  static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  static const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  static const double boot = BootTime();
  ProcStats s;
  s.cpu_seconds = static_cast<double>(field[14] + field[15]) / ticks;
  s.threads = static_cast<double>(field[20]);
  s.start_time_seconds = boot + static_cast<double>(field[22]) / ticks;
  s.resident_bytes = static_cast<double>(field[24]) * page;
  s.open_fds = CountFds(pid);
  return s;
}

void CollectProcessMetrics(const Segment* segment, std::vector<MetricSnapshot>& out) {
  std::vector<MetricSnapshot> by_family[5];
  const auto self = static_cast<uint32_t>(getpid());
  if (auto own = ReadProc(self)) Add(*own, {}, by_family);
  double hidden = 0;
  std::vector<ProducerInfo> producers;
  if (segment) {
    try {
      producers = segment->Producers(/*with_series=*/false);
    } catch (const Error&) {
      // Shrunk or corrupt: the read pass reports it; no producer metrics meanwhile.
    }
  }
  std::unordered_set<uint32_t> seen = {self};
  for (const auto& p : producers) {
    if (!p.alive || !p.process_metrics || !seen.insert(p.pid).second) continue;
    auto stats = ReadProc(p.pid, p.start_ticks);
    if (!stats) {
      ++hidden;
      continue;
    }
    Add(*stats, {{"job", p.job.empty() ? p.command : p.job}, {"pid", std::to_string(p.pid)}},
        by_family);
  }
  for (auto& family : by_family)
    for (auto& m : family) out.push_back(std::move(m));
  MetricSnapshot h =
      OwnMetric("shmstatsd_process_metrics_hidden", MetricType::kGauge,
                "Live producers allowing process metrics whose /proc entry "
                "shmstatsd cannot read (another user's, under ProtectProc=invisible)");
  h.gauge = hidden;
  out.push_back(std::move(h));
}

}  // namespace shmstats::daemon
