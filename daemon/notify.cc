#include "notify.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <systemd/sd-daemon.h>

#include <chrono>

#include "mapped_read.h"

namespace shmstats::daemon {

Notifier::Notifier() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    beat_every_ms_ = std::max<int64_t>(1, static_cast<int64_t>(usec / 2000));
  }
}

void Notifier::Ready(const std::string& status) const {
  sd_notify(0, fmt::format("READY=1\nSTATUS={}", status).c_str());
}

void Notifier::Beat(const std::string& status) const {
  sd_notify(0, fmt::format("{}STATUS={}", beat_every_ms_ ? "WATCHDOG=1\n" : "", status).c_str());
}

void Notifier::Stopping() const { sd_notify(0, "STOPPING=1\nSTATUS=final snapshot, then exit"); }

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
