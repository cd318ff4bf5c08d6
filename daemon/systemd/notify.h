// SPDX-License-Identifier: Apache-2.0
#pragma once

// systemd service notifications (sd_notify(3), libsystemd) for Type=notify:
// READY=1 once the daemon serves, STATUS= lines saying what it is doing, and
// WATCHDOG=1 keep-alives from the collection loop when the unit sets WatchdogSec=
// ($WATCHDOG_USEC). Without $NOTIFY_SOCKET (not started by systemd) every call is
// a no-op.
//
// Thread-safety: every method may be called from any thread.

#include <cstdint>
#include <string>

namespace shmstats::daemon {

class Notifier {
 public:
  Notifier();
  // How often the collection loop must call Beat(): half of $WATCHDOG_USEC, in ms;
  // 0 when no watchdog is asked for.
  int64_t beat_every_ms() const { return beat_every_ms_; }
  // READY=1 with the first STATUS=.
  void Ready(const std::string& status) const;
  // STATUS=, and WATCHDOG=1 when a watchdog is asked for.
  void Beat(const std::string& status) const;
  // STOPPING=1.
  void Stopping() const;

 private:
  int64_t beat_every_ms_ = 0;
};

}  // namespace shmstats::daemon
