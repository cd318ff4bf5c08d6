// SPDX-License-Identifier: Apache-2.0
#include "daemon/systemd/notify.h"

#include <fmt/format.h>
#include <systemd/sd-daemon.h>

#include <algorithm>

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

}  // namespace shmstats::daemon
