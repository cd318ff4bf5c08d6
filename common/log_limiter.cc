// SPDX-License-Identifier: Apache-2.0
#include "log_limiter.h"

#include <fmt/format.h>

namespace shmstats::common {

std::optional<std::string> LogLimiter::Admit(std::string_view kind, std::string message,
                                             Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = kinds_.find(kind);
  if (it == kinds_.end()) {
    kinds_.emplace(std::string(kind), Kind{now, 0});
    return message;
  }
  Kind& k = it->second;
  if (now - k.last < window_) {
    ++k.suppressed;
    return std::nullopt;
  }
  if (k.suppressed > 0) {
    message +=
        fmt::format(" ({} similar line{} suppressed)", k.suppressed, k.suppressed == 1 ? "" : "s");
  }
  k = {now, 0};
  return message;
}

}  // namespace shmstats::common
