// SPDX-License-Identifier: Apache-2.0
#include "tools/watch_status.h"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>

#include "tools/human.h"

namespace shmstats::statsctl {
namespace {

using Clock = std::chrono::steady_clock;
// A message about a segment that is back ("re-attached") goes after this long.
constexpr auto kNoticeTime = std::chrono::seconds(10);

}  // namespace

void TerminalSize(size_t* cols, size_t* lines) {
  winsize ws{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) {
    *cols = ws.ws_col;
    *lines = ws.ws_row;
  }
}

WatchStatus::WatchStatus(std::string segment, bool full_screen)
    : segment_(std::move(segment)),
      full_screen_(full_screen),
      stderr_tty_(isatty(STDERR_FILENO) != 0) {}

WatchStatus::~WatchStatus() {
  if (line_shown_) std::fputs("\r\033[K", stderr);
}

void WatchStatus::Say(const std::string& message) {
  message_ = message;
  said_ = Clock::now();
  if (full_screen_) return Redraw();
  if (line_shown_) std::fputs("\r\033[K", stderr);  // the line goes above the waiting line
  line_shown_ = false;
  std::fprintf(stderr, "%s\n", message.c_str());
  std::fflush(stderr);
}

void WatchStatus::Waiting(bool waiting) {
  if (!waiting) {
    waiting_since_.reset();
    if (line_shown_) std::fputs("\r\033[K", stderr);
    line_shown_ = false;
  } else if (!waiting_since_) {
    waiting_since_ = Clock::now();
  }
  if (full_screen_) return Redraw();
  if (!waiting || !stderr_tty_) return;
  size_t cols = 0, lines = 0;
  TerminalSize(&cols, &lines);  // of stdout, often the same terminal; else not clipped
  std::fprintf(stderr, "\r\033[K%s", Text(cols > 0 ? cols - 1 : 4096).c_str());
  std::fflush(stderr);
  line_shown_ = true;
}

std::string WatchStatus::Text(size_t width) const {
  // Full screen: the message itself counts the seconds (the count is never clipped
  // away); on stderr the message was its own line, and the waiting line only counts.
  std::string text = full_screen_ && !message_.empty()
                         ? message_
                         : fmt::format("statsctl: waiting for /dev/shm/{}", segment_);
  std::string count;
  if (waiting_since_) {
    count = fmt::format(": {:.0f} s (Ctrl-C to stop)",
                        std::chrono::duration<double>(Clock::now() - *waiting_since_).count());
  }
  size_t room = width > DisplayWidth(count) + 12 ? width - DisplayWidth(count) : 12;
  return ClipToWidth(text, room) + count;
}

void WatchStatus::Redraw() {
  if (!full_screen_) return;
  if (!waiting_since_ && Clock::now() - said_ > kNoticeTime) message_.clear();
  size_t cols = 80, lines = 24;
  TerminalSize(&cols, &lines);
  std::string text = waiting_since_ || !message_.empty() ? Text(cols) : "";
  // The bottom row, the cursor saved and restored around it.
  std::string out = fmt::format("\0337\033[{};1H{}\033[K\0338", lines, text);
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
}

}  // namespace shmstats::statsctl
