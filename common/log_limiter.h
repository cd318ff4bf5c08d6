// SPDX-License-Identifier: Apache-2.0
#pragma once

// Rate limiting of log lines about the same problem: at most one line per kind per
// window (a minute by default); the next line let through after lines were
// suppressed says how many. Used by shmstatsd's log and `statsctl watch`, so that a
// segment corrupt on every tick cannot flood either.
//
// Thread-safety: Admit may be called from any thread at once.

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace shmstats::common {

class LogLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LogLimiter(Clock::duration window = std::chrono::minutes(1)) : window_(window) {}

  // The line to print for a message of `kind` at `now`, or nullopt when it is
  // suppressed (then counted). A line let through after suppressed ones ends with
  // " (N similar lines suppressed)".
  std::optional<std::string> Admit(std::string_view kind, std::string message,
                                   Clock::time_point now = Clock::now());

 private:
  struct Kind {
    Clock::time_point last;
    uint64_t suppressed = 0;
  };
  const Clock::duration window_;
  std::mutex mu_;
  std::map<std::string, Kind, std::less<>> kinds_;
};

}  // namespace shmstats::common
