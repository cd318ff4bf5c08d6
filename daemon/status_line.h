// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the daemon is doing, in one line: for systemd's STATUS= (daemon/systemd/)
// and the D-Bus Status property (daemon/dbus/).
//
// Thread-safety: any thread (it reads the collector's thread-safe accessors).

#include <string>

#include "daemon/collector.h"

namespace shmstats::daemon {

// "segment NAME attached (M/N metrics); last tick TIME; history ok|failing", or
// "segment NAME missing, waiting for it; ...".
std::string StatusLine(const std::string& segment, Collector& collector);

}  // namespace shmstats::daemon
