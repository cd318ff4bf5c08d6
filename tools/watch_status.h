// SPDX-License-Identifier: Apache-2.0
#pragma once

// What `statsctl watch` says about its segment (missing, removed or re-created,
// truncated or corrupt, re-attached) and how long it has been waiting for it.
//
// In the full-screen view (stdout a terminal): the status line, the bottom row of
// the screen (which the table never uses), redrawn in place and never over the
// table; while waiting it counts the seconds. Otherwise: each message is a plain
// line on stderr, and while waiting, when stderr is a terminal, one line on stderr
// counts the seconds (erased when the segment is back); nothing more when stderr
// is not a terminal.
//
// Not thread-safe; one per watch.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

namespace shmstats::statsctl {

// Columns and rows of the terminal on stdout; unchanged when it is not one.
void TerminalSize(size_t* cols, size_t* lines);

class WatchStatus {
 public:
  WatchStatus(std::string segment, bool full_screen);
  ~WatchStatus();  // erases a waiting line on stderr
  WatchStatus(const WatchStatus&) = delete;
  WatchStatus& operator=(const WatchStatus&) = delete;

  // One message ("statsctl: ..."), shown at once.
  void Say(const std::string& message);
  // After every refresh: whether watch is waiting for its segment.
  void Waiting(bool waiting);
  // Full screen: draws the status line again (after the view cleared the screen).
  void Redraw();

 private:
  // The status text, at most `width` cells.
  std::string Text(size_t width) const;

  std::string segment_;
  bool full_screen_;
  bool stderr_tty_;
  std::string message_;
  std::chrono::steady_clock::time_point said_;
  std::optional<std::chrono::steady_clock::time_point> waiting_since_;
  bool line_shown_ = false;  // a waiting line on stderr (not full screen)
};

}  // namespace shmstats::statsctl
