// SPDX-License-Identifier: Apache-2.0
#pragma once

// The daemon's log: one line per event on stderr, which journald keeps (with the
// line's syslog priority when stderr is the journal, daemon/systemd/journal.h).
//
// Thread-safety: any thread; each line is written whole.

#include <string>

namespace shmstats::daemon {

// Logs one line to stderr ("shmstatsd: <level>: <message>"); journald keeps it.
void Log(const char* level, const std::string& message);
// Log, at most once a minute per `kind` (common::LogLimiter): for problems that can
// repeat on every tick or request.
void LogLimited(const char* kind, const char* level, const std::string& message);

}  // namespace shmstats::daemon
