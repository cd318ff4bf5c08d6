// SPDX-License-Identifier: Apache-2.0
#include "daemon/status_line.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>

#include "daemon/mapped_read.h"

namespace shmstats::daemon {

std::string StatusLine(const std::string& segment, Collector& collector) {
  std::string line;
  if (auto s = collector.Attached()) {
    try {
      SegmentInfo info;
      ReadMapped(segment, [&] { info = s->Info(); });
      line = fmt::format("segment {} attached ({}/{} metrics)", segment, info.metrics_used,
                         info.max_metrics);
    } catch (const Error& e) {  // shrunk or corrupt under us: as a tick treats it
      collector.SegmentFailed(e);
      line = fmt::format("segment {} unreadable, re-attaching", segment);
    }
  } else {
    line = fmt::format("segment {} missing, waiting for it", segment);
  }
  if (int64_t ms = collector.LastTickMs()) {
    auto t = std::chrono::sys_time<std::chrono::seconds>(std::chrono::seconds(ms / 1000));
    line += fmt::format("; last tick {:%Y-%m-%dT%H:%M:%SZ}", t);
  } else {
    line += "; no tick yet";
  }
  line += collector.HistoryHealthy() ? "; history ok" : "; history failing (retrying)";
  return line;
}

}  // namespace shmstats::daemon
