// SPDX-License-Identifier: Apache-2.0
// Reset racing increments across processes: while 4 producer processes x 2 threads
// increment a counter and observe into a histogram, another process resets both
// again and again with Segment::Reset. Nothing may be lost or counted twice: the
// values all resets returned plus the final values equal every increment made.

#include <gtest/gtest.h>

#include <bit>
#include <string>
#include <thread>
#include <vector>

#include "process_harness.h"
#include "shmstats/shmstats.h"

namespace shmstats {
namespace {

using std::chrono::seconds;

constexpr int kProcesses = 4;
constexpr int kThreads = 2;
constexpr int kIterations = 200'000;

const MetricSpec kCounterSpec{"raced_total", {{"by", "reset"}}, "incremented while reset", ""};
const MetricSpec kHistogramSpec{"raced_size", {}, "observed while reset", ""};
const ExplicitBuckets kBounds{{1, 2, 4}};

// Slots in the SharedFlags page: signals, then what the resetter took in total.
enum Flag {
  kGo,
  kStop,
  kResetterReady,
  kTookSomething,  // a reset took a nonzero count: writers may pass half-way
  kWriterFailures,
  kResets,
  kResetsThatTookSomething,
  kTakenCounter,
  kTakenCount,
  kTakenSumBits,  // a double
};

int Writer(const std::string& name, test::SharedFlags& flags) {
  Segment s = Segment::Open(name);
  Counter c = s.RegisterCounter(kCounterSpec);
  Histogram h = s.RegisterHistogram(kHistogramSpec, kBounds);
  if (!test::WaitUntil([&] { return flags[kGo].load() != 0; }, seconds(30))) return 20;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kIterations; ++i) {
        // Half-way, wait until some reset has taken increments, so at least one
        // reset lands in the middle of the writing however the scheduler runs us.
        if (i == kIterations / 2 &&
            !test::WaitUntil([&] { return flags[kTookSomething].load() != 0; }, seconds(30)))
          flags[kWriterFailures].fetch_add(1);
        c.Inc();
        h.Observe(i % 4 + 1);  // 1, 2, 3, 4: integers, so sums are exact
      }
    });
  for (std::thread& t : threads) t.join();
  return flags[kWriterFailures].load() == 0 ? 0 : 21;
}

// Resets both series until told to stop, and adds up what every reset returned.
int Resetter(const std::string& name, test::SharedFlags& flags) {
  Segment s = Segment::Open(name);
  s.RegisterCounter(kCounterSpec);
  s.RegisterHistogram(kHistogramSpec, kBounds);
  uint64_t resets = 0, nonzero = 0, counter = 0, count = 0;
  double sum = 0;
  flags[kResetterReady].store(1);
  auto deadline = std::chrono::steady_clock::now() + seconds(60);
  while (flags[kStop].load() == 0) {
    if (std::chrono::steady_clock::now() > deadline) return 22;
    auto taken = s.Reset([](const MetricSnapshot& m) {
      return m.name == kCounterSpec.name || m.name == kHistogramSpec.name;
    });
    if (taken.size() != 2) return 23;
    ++resets;
    for (const MetricSnapshot& m : taken) {
      counter += m.counter;
      count += m.histogram.count;
      sum += m.histogram.sum;
      if (m.counter != 0) ++nonzero;
    }
    if (nonzero != 0) flags[kTookSomething].store(1);
  }
  flags[kResets].store(resets);
  flags[kResetsThatTookSomething].store(nonzero);
  flags[kTakenCounter].store(counter);
  flags[kTakenCount].store(count);
  flags[kTakenSumBits].store(std::bit_cast<uint64_t>(sum));
  return 0;
}

class ResetRaceTest : public test::ProcessTest {
 protected:
  ResetRaceTest() : ProcessTest(16, 1 << 10) {}
};

TEST_F(ResetRaceTest, ResetsRacingIncrementsLoseNothing) {
  pid_t resetter = children_.Fork([&] { return Resetter(guard_.name(), flags_); });
  ASSERT_TRUE(test::WaitUntil([&] { return flags_[kResetterReady].load() != 0; }, seconds(30)));
  std::vector<pid_t> writers;
  for (int p = 0; p < kProcesses; ++p)
    writers.push_back(children_.Fork([&] { return Writer(guard_.name(), flags_); }));
  flags_[kGo].store(1);
  for (pid_t pid : writers) {
    std::optional<int> status = children_.Wait(pid, seconds(60));
    ASSERT_TRUE(status) << "writer " << pid << " did not finish within 60 s";
    EXPECT_TRUE(test::ExitedCleanly(*status)) << "writer " << test::DescribeStatus(*status);
  }
  flags_[kStop].store(1);
  std::optional<int> status = children_.Wait(resetter, seconds(30));
  ASSERT_TRUE(status) << "the resetter did not stop within 30 s";
  ASSERT_TRUE(test::ExitedCleanly(*status)) << "resetter " << test::DescribeStatus(*status);

  const uint64_t total = uint64_t{kProcesses} * kThreads * kIterations;
  uint64_t final_counter = 0, final_count = 0;
  double final_sum = 0;
  for (const MetricSnapshot& m : segment_->Read().metrics) {
    if (m.name == kCounterSpec.name) final_counter = m.counter;
    if (m.name == kHistogramSpec.name) final_count = m.histogram.count;
    if (m.name == kHistogramSpec.name) final_sum = m.histogram.sum;
  }
  RecordProperty("resets", std::to_string(flags_[kResets].load()));
  RecordProperty("resets_that_took_something", std::to_string(flags_[kResetsThatTookSomething]));
  EXPECT_GT(flags_[kResetsThatTookSomething].load(), 0u);
  EXPECT_EQ(flags_[kTakenCounter].load() + final_counter, total);
  EXPECT_EQ(flags_[kTakenCount].load() + final_count, total);
  // Each writer thread observes 1+2+3+4 every four iterations.
  EXPECT_EQ(std::bit_cast<double>(flags_[kTakenSumBits].load()) + final_sum,
            2.5 * static_cast<double>(total));
}

}  // namespace
}  // namespace shmstats
