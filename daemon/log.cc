// SPDX-License-Identifier: Apache-2.0
#include "daemon/log.h"

#include <cstdio>

#include "common/log_limiter.h"
#include "daemon/systemd/journal.h"

namespace shmstats::daemon {

void Log(const char* level, const std::string& message) {
  std::fprintf(stderr, "%sshmstatsd: %s: %s\n", JournalPrefix(level), level, message.c_str());
  std::fflush(stderr);
}

void LogLimited(const char* kind, const char* level, const std::string& message) {
  static common::LogLimiter limiter;
  if (auto line = limiter.Admit(kind, message)) Log(level, *line);
}

}  // namespace shmstats::daemon
