// SPDX-License-Identifier: Apache-2.0
#include "progress_line.h"

#include <unistd.h>

#include <cstdio>

namespace shmstats::common {

ProgressLine::ProgressLine()
    : tty_(isatty(STDERR_FILENO) != 0),
      next_(std::chrono::steady_clock::now() + std::chrono::milliseconds(200)) {}

ProgressLine::~ProgressLine() { Clear(); }

bool ProgressLine::Due() const { return tty_ && std::chrono::steady_clock::now() >= next_; }

void ProgressLine::Show(const std::string& text, bool force) {
  if (!tty_ || (!force && !Due())) return;
  next_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
  std::fprintf(stderr, "\r\033[K%s", text.c_str());
  std::fflush(stderr);
  shown_ = true;
}

void ProgressLine::Clear() {
  if (!shown_) return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  shown_ = false;
}

}  // namespace shmstats::common
