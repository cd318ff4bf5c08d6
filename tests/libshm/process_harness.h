// SPDX-License-Identifier: Apache-2.0
#pragma once

// Helpers for the multi-process tests: uniquely named segments that are removed
// even when a test fails, forked children that are always reaped, bounded waits
// (a wedged library makes a test fail, never hang), and a small block of memory
// shared with the children for start signals and flags.

#include <gtest/gtest.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "shmstats/segment.h"

namespace shmstats::test {

// "<Suite>.<Test>-<pid>-<tag>" with characters a segment name may hold: unique per
// test, per run and per tag.
std::string UniqueSegmentName(std::string_view tag);

// Removes the named segment when destroyed, whatever happened in between.
class SegmentGuard {
 public:
  explicit SegmentGuard(std::string name);
  ~SegmentGuard();
  SegmentGuard(const SegmentGuard&) = delete;
  SegmentGuard& operator=(const SegmentGuard&) = delete;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// Forked children of one test. Not thread-safe: use it from the test's thread.
// Every child is reaped: by Wait, by KillAndReap, or by the destructor, which
// SIGKILLs and reaps those still running.
class Children {
 public:
  Children() = default;
  ~Children();
  Children(const Children&) = delete;
  Children& operator=(const Children&) = delete;

  // Runs body() in a new process, which leaves with _exit(body()) and never
  // returns into the test framework; an exception in body exits with
  // kExceptionExit. Fork from a thread-free parent (threads are not forked).
  pid_t Fork(const std::function<int()>& body);

  // Waits up to `timeout` for pid to end and reaps it; returns its wait status.
  // On timeout the child is SIGKILLed and reaped, and nullopt returned.
  std::optional<int> Wait(pid_t pid, std::chrono::milliseconds timeout);

  // Reaps pid if it has ended; returns its wait status, or nullopt if it still runs.
  std::optional<int> TryWait(pid_t pid);

  // SIGKILLs pid and reaps it at once, so its pid is free (kill(pid, 0) then
  // fails with ESRCH, which is how the library tells a claimer died).
  void KillAndReap(pid_t pid);

  // SIGSTOPs pid and waits up to `timeout` until it has stopped; returns true then.
  // Returns false if it ended first (it is reaped and *status set) or did not stop
  // in time (it is killed and reaped, *status = -1).
  bool Stop(pid_t pid, std::chrono::milliseconds timeout, int* status);

  static constexpr int kExceptionExit = 100;

 private:
  std::set<pid_t> live_;
};

// "exited with status 0", "killed by signal 9 (Killed)", ...
std::string DescribeStatus(int status);

// True when status says the child exited normally with status 0.
bool ExitedCleanly(int status);

// A page of anonymous memory shared with every child forked after it was made:
// atomics in it carry start signals, stop flags and small results.
class SharedFlags {
 public:
  static constexpr size_t kCount = 256;
  SharedFlags();
  ~SharedFlags();
  SharedFlags(const SharedFlags&) = delete;
  SharedFlags& operator=(const SharedFlags&) = delete;
  std::atomic<uint64_t>& operator[](size_t i) { return words_[i]; }

 private:
  std::atomic<uint64_t>* words_;
};

// Polls until pred() holds, sleeping ~100 us between polls. Returns false if it
// did not hold within `timeout`.
bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

// The fixture of the multi-process tests: a fresh segment of the given capacity
// under a unique name (removed at the end, after the children are reaped), flags
// shared with the children, and the children.
class ProcessTest : public ::testing::Test {
 protected:
  ProcessTest(uint32_t max_metrics, uint32_t max_slots);

  SegmentGuard guard_;
  std::optional<Segment> segment_;
  SharedFlags flags_;
  Children children_;
};

}  // namespace shmstats::test
