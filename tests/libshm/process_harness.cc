// SPDX-License-Identifier: Apache-2.0
#include "process_harness.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "shmstats/segment.h"

namespace shmstats::test {

std::string UniqueSegmentName(std::string_view tag) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = "shmstats-test-";
  if (info != nullptr) name += std::string(info->test_suite_name()) + "." + info->name() + "-";
  name += std::to_string(getpid()) + "-" + std::string(tag);
  for (char& c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) c = '_';
  }
  return name;
}

ProcessTest::ProcessTest(uint32_t max_metrics, uint32_t max_slots)
    : guard_(UniqueSegmentName("seg")) {
  SegmentOptions options;
  options.max_metrics = max_metrics;
  options.max_slots = max_slots;
  segment_.emplace(Segment::Create(guard_.name(), options));
}

SegmentGuard::SegmentGuard(std::string name) : name_(std::move(name)) {
  Segment::Remove(name_);  // a leftover of a crashed earlier run with the same pid
}

SegmentGuard::~SegmentGuard() {
  try {
    Segment::Remove(name_);
  } catch (...) {
    // Nothing to do in a destructor; the name is unique to this run anyway.
  }
}

Children::~Children() {
  for (pid_t pid : live_) kill(pid, SIGKILL);
  for (pid_t pid : live_) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

pid_t Children::Fork(const std::function<int()>& body) {
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    int code = kExceptionExit;
    try {
      code = body();
    } catch (...) {
    }
    _exit(code);
  }
  live_.insert(pid);
  return pid;
}

std::optional<int> Children::TryWait(pid_t pid) {
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return std::nullopt;
  live_.erase(pid);
  if (r < 0) throw std::runtime_error(std::string("waitpid: ") + std::strerror(errno));
  return status;
}

std::optional<int> Children::Wait(pid_t pid, std::chrono::milliseconds timeout) {
  std::optional<int> status;
  WaitUntil([&] { return (status = TryWait(pid)).has_value(); }, timeout);
  if (!status) KillAndReap(pid);
  return status;
}

void Children::KillAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  live_.erase(pid);
}

bool Children::Stop(pid_t pid, std::chrono::milliseconds timeout, int* status) {
  kill(pid, SIGSTOP);
  // Polls without sleeping: callers stop producers at chosen instants, and a sleep
  // would let the stop land much later than asked.
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    pid_t r = waitpid(pid, status, WUNTRACED | WNOHANG);
    if (r > 0 && WIFSTOPPED(*status)) return true;
    if (r > 0 || (r < 0 && errno != EINTR)) break;
    if (std::chrono::steady_clock::now() > deadline) {
      KillAndReap(pid);
      *status = -1;
      return false;
    }
    sched_yield();
  }
  live_.erase(pid);
  return false;
}

std::string DescribeStatus(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  return "wait status " + std::to_string(status);
}

bool ExitedCleanly(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

SharedFlags::SharedFlags() {
  void* p = mmap(nullptr, kCount * sizeof(uint64_t), PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::runtime_error(std::string("mmap: ") + std::strerror(errno));
  words_ = new (p) std::atomic<uint64_t>[kCount]();
}

SharedFlags::~SharedFlags() { munmap(words_, kCount * sizeof(uint64_t)); }

bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return true;
}

}  // namespace shmstats::test
