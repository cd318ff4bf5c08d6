// SPDX-License-Identifier: Apache-2.0
// Striped (per-CPU) counters and histograms: one stripe per CPU, summed by readers;
// a reset takes every stripe; a histogram snapshot stays consistent; the memory
// is what Striping documents; a bad stripe count in the segment is refused.

#include <pthread.h>
#include <sched.h>
#include <sys/sysinfo.h>

#include <atomic>
#include <bit>
#include <cstddef>
#include <functional>
#include <numeric>
#include <thread>
#include <vector>

#include "unit_fixture.h"

namespace shmstats {
namespace {

using testing_util::Spec;

class StripingTest : public testing_util::SegmentFixture {
 protected:
  StripingTest() { Recreate(testing_util::Options(32, 1 << 16)); }

  static uint32_t Stripes() {
    return std::min(std::bit_ceil(static_cast<uint32_t>(get_nprocs_conf())), 128u);
  }

  // The CPUs this process may run on.
  static std::vector<int> Cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    sched_getaffinity(0, sizeof set, &set);
    std::vector<int> cpus;
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
    return cpus;
  }

  // Runs body(k) on one thread pinned to each CPU, all at once.
  static void OnEveryCpu(const std::function<void(size_t)>& body) {
    std::vector<int> cpus = Cpus();
    std::vector<std::thread> threads;
    for (size_t k = 0; k < cpus.size(); ++k) {
      threads.emplace_back([&, k] {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpus[k], &set);
        pthread_setaffinity_np(pthread_self(), sizeof set, &set);
        body(k);
      });
    }
    for (std::thread& t : threads) t.join();
  }
};

TEST_F(StripingTest, StripedCounterSumsEveryCpusStripe) {
  Counter c = segment_.RegisterCounter(Spec("striped_total"), Striping::kPerCpu);
  OnEveryCpu([&](size_t k) {
    for (int i = 0; i < 10000; ++i) c.Inc(k + 1);
  });
  const size_t n = Cpus().size();
  EXPECT_EQ(Find("striped_total").counter, 10000u * n * (n + 1) / 2);
}

TEST_F(StripingTest, EachStripeIsACacheLineOfItsOwnAndCostsWhatIsDocumented) {
  // Slots a registration takes: every metric starts on a fresh 8-slot line.
  auto taken_by = [&](const std::function<void()>& registration) {
    const uint64_t start = (segment_.Info().slots_used + 7) / 8 * 8;
    registration();
    return segment_.Info().slots_used - start;
  };
  // One CPU: nothing to stripe, the layout of an unstriped metric.
  const bool striped = Stripes() > 1;
  EXPECT_EQ(taken_by([&] { segment_.RegisterCounter(Spec("striped_total"), Striping::kPerCpu); }),
            striped ? 8u * Stripes() : 2u)
      << "one 64-byte line per stripe (the reset total in stripe 0's second slot)";
  // 9 buckets + the sum: 10 slots, two lines per stripe; then the 8 bounds, the sum's
  // reset total and the 9 buckets' reset totals once.
  EXPECT_EQ(taken_by([&] {
              segment_.RegisterHistogram(Spec("striped_seconds"),
                                         ExplicitBuckets{{1, 2, 3, 4, 5, 6, 7, 8}},
                                         Striping::kPerCpu);
            }),
            striped ? 16u * Stripes() + 8 + 10 : 3u * 9 + 1);
  EXPECT_EQ(taken_by([&] { segment_.RegisterCounter(Spec("shared_total")); }), 2u);
}

TEST_F(StripingTest, TheFirstRegistrationDecidesTheLayout) {
  Counter shared = segment_.RegisterCounter(Spec("ops_total"));
  Counter again = segment_.RegisterCounter(Spec("ops_total"), Striping::kPerCpu);
  shared.Inc(2);
  again.Inc(3);
  EXPECT_EQ(Find("ops_total").counter, 5u);
  Counter striped = segment_.RegisterCounter(Spec("hot_total"), Striping::kPerCpu);
  Counter plain = segment_.RegisterCounter(Spec("hot_total"));
  OnEveryCpu([&](size_t) {
    striped.Inc();
    plain.Inc();
  });
  EXPECT_EQ(Find("hot_total").counter, 2 * Cpus().size());
}

// Increments racing resets land in exactly one reset or in the final value, and the
// reset totals (kept apart from every stripe) account for what resets took.
TEST_F(StripingTest, ResetTakesEveryStripeAndLosesNothing) {
  Counter c = segment_.RegisterCounter(Spec("raced_total"), Striping::kPerCpu);
  Histogram h = segment_.RegisterHistogram(Spec("raced_seconds"), ExplicitBuckets{{1, 10, 100}},
                                           Striping::kPerCpu);
  std::atomic<size_t> running{Cpus().size()};
  uint64_t taken = 0, taken_observations = 0;
  std::thread resetter([&] {
    while (running.load() > 0) {
      for (const MetricSnapshot& m : segment_.Reset([](const MetricSnapshot&) { return true; })) {
        if (m.type == MetricType::kCounter) taken += m.counter;
        if (m.type == MetricType::kHistogram) {
          EXPECT_EQ(m.histogram.count, std::accumulate(m.histogram.counts.begin(),
                                                       m.histogram.counts.end(), uint64_t{0}));
          taken_observations += m.histogram.count;
        }
      }
    }
  });
  constexpr int kPerThread = 200000;
  OnEveryCpu([&](size_t k) {
    for (int i = 0; i < kPerThread; ++i) {
      c.Inc();
      h.Observe(static_cast<double>((i + k) % 200));
    }
    running.fetch_sub(1);
  });
  resetter.join();
  const uint64_t total = uint64_t{kPerThread} * Cpus().size();
  EXPECT_EQ(taken + Find("raced_total").counter, total);
  EXPECT_EQ(taken_observations + Find("raced_seconds").histogram.count, total);
  EXPECT_EQ(Find("raced_total").counter_reset_total, taken);
  const HistogramValue after = Find("raced_seconds").histogram;
  EXPECT_EQ(std::accumulate(after.reset_counts.begin(), after.reset_counts.end(), uint64_t{0}),
            taken_observations);
}

TEST_F(StripingTest, StripedHistogramMatchesAnUnstripedOneFedTheSameValues) {
  ExplicitBuckets buckets{{0.5, 1, 2.5, 10, 50}};
  Histogram striped = segment_.RegisterHistogram(Spec("s_seconds"), buckets, Striping::kPerCpu);
  Histogram shared = segment_.RegisterHistogram(Spec("u_seconds"), buckets);
  OnEveryCpu([&](size_t k) {
    for (int i = 0; i < 5000; ++i) {
      double v = static_cast<double>((i * 7 + k) % 64);
      striped.Observe(v);
      shared.Observe(v);
    }
  });
  HistogramValue s = Find("s_seconds").histogram, u = Find("u_seconds").histogram;
  EXPECT_EQ(s.counts, u.counts);
  EXPECT_EQ(s.count, u.count);
  EXPECT_EQ(s.count, std::accumulate(s.counts.begin(), s.counts.end(), uint64_t{0}));
  EXPECT_EQ(s.sum, u.sum);  // integers: exact in any order
  EXPECT_EQ(s.bounds, buckets.bounds);
}

TEST_F(StripingTest, AStripeCountThatIsNotAPowerOfTwoIsRefused) {
  segment_.RegisterCounter(Spec("striped_total"), Striping::kPerCpu).Inc();
  const uint32_t index = Find("striped_total").index;
  std::vector<char> image = testing_util::ReadBytes(path());
  testing_util::Poke<uint8_t>(
      image, testing_util::DescriptorOffset(index, offsetof(layout::Descriptor, stripes)), 3);
  testing_util::WriteBytes(path(), image);
  Snapshot snap = Segment::Open(name(), Access::kReadOnly).Read();
  EXPECT_TRUE(snap.metrics.empty());
  ASSERT_EQ(snap.problems.size(), 1u);
  EXPECT_NE(snap.problems[0].find("3 stripes"), std::string::npos) << snap.problems[0];
}

}  // namespace
}  // namespace shmstats
