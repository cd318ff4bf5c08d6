// SPDX-License-Identifier: Apache-2.0
#pragma once

// One line of progress on stderr, only when stderr is a terminal: redrawn in place
// ("\r" and erase-line) at most every 200 ms, erased by Clear() or the destructor.
// When stderr is not a terminal (journald, cron, pipes, files, tests) it prints
// nothing at all. Used by statsctl's export and shmstatsd's backlog flush.
//
// Thread-safety: one thread; one object per operation.

#include <chrono>
#include <string>

namespace shmstats::common {

class ProgressLine {
 public:
  ProgressLine();
  ~ProgressLine();  // Clear()
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  bool enabled() const { return tty_; }
  // True when a redraw is due: stderr is a terminal and 200 ms have passed since
  // the last one (or since construction). Lets the caller skip formatting.
  bool Due() const;
  // Draws `text` in place now if due, or always when `force`.
  void Show(const std::string& text, bool force = false);
  // Erases the line if one is shown (call before printing anything else to stderr).
  void Clear();

 private:
  bool tty_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point next_;
};

}  // namespace shmstats::common
