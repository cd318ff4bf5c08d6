// SPDX-License-Identifier: Apache-2.0
// Multi-process stress: 4 producer processes x 2 threads register the same series
// at the same instant (each must get the one shared slot), then increment the same
// counters and observe into the same histograms (explicit and exponential; shared
// and striped per CPU, whose stripes the reader sums) while
// the parent snapshots in a loop (the writers wait half-way for a few snapshots,
// so some are surely taken mid-run). Final totals must be exact, every snapshot
// consistent, and nothing may go backwards between snapshots.

#include <gtest/gtest.h>

#include <atomic>
#include <map>
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
constexpr int kIterations = 100'000;
constexpr uint64_t kWriters = kProcesses * kThreads;

// Counter series requests_total{op=...}; op k is incremented by k + 1 per iteration.
const std::vector<std::string> kOps = {"read", "write", "delete"};

// The value thread t of process p observes at iteration i: an integer in 0..199,
// so histogram sums are exact in any order of addition.
double Observed(int p, int t, int i) { return (p * 7 + t * 3 + i) % 200; }

struct Handles {
  std::vector<Counter> ops;
  Gauge in_flight;
  Histogram sizes;              // explicit buckets
  Histogram latencies;          // exponential buckets; 0 and 1 in the first, > 128 in +Inf
  Counter striped_ops;          // Striping::kPerCpu
  Histogram striped_latencies;  // Striping::kPerCpu, the same buckets as latencies
};

Handles RegisterAll(Segment& s) {
  Handles h;
  for (const std::string& op : kOps)
    h.ops.push_back(s.RegisterCounter({"requests_total", {{"op", op}}, "requests", ""}));
  h.in_flight = s.RegisterGauge({"in_flight", {}, "summed adds", ""});
  h.sizes = s.RegisterHistogram({"request_size", {{"kind", "explicit"}}, "sizes", "bytes"},
                                ExplicitBuckets{{10, 50, 100, 150}});
  h.latencies = s.RegisterHistogram({"request_latency", {{"kind", "exp"}}, "latency", "ms"},
                                    ExponentialBuckets{1, 128, 2});
  h.striped_ops =
      s.RegisterCounter({"striped_requests_total", {}, "striped", ""}, Striping::kPerCpu);
  h.striped_latencies =
      s.RegisterHistogram({"request_latency", {{"kind", "striped"}}, "latency", "ms"},
                          ExponentialBuckets{1, 128, 2}, Striping::kPerCpu);
  return h;
}

// Slots in the SharedFlags page.
enum Flag { kGo, kReady, kThreadFailures, kSnapshots };

// Writers wait half-way until the reader has taken this many snapshots, so some
// snapshots are surely taken in the middle of the writing.
constexpr uint64_t kSnapshotsBeforeHalfWay = 3;

// One producer process: opens the segment, waits for the start signal, then each
// of its threads registers everything itself and records kIterations times.
int Producer(const std::string& name, test::SharedFlags& flags, int p) {
  Segment s = Segment::Open(name);
  flags[kReady].fetch_add(1);
  if (!test::WaitUntil([&] { return flags[kGo].load() != 0; }, seconds(30))) return 20;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        Handles h = RegisterAll(s);
        for (int i = 0; i < kIterations; ++i) {
          if (i == kIterations / 2 &&
              !test::WaitUntil([&] { return flags[kSnapshots].load() >= kSnapshotsBeforeHalfWay; },
                               seconds(30)))
            flags[kThreadFailures].fetch_add(1);
          for (size_t k = 0; k < h.ops.size(); ++k) h.ops[k].Inc(k + 1);
          h.in_flight.Add(1);
          h.sizes.Observe(Observed(p, t, i));
          h.latencies.Observe(Observed(p, t, i));
          h.striped_ops.Inc();
          h.striped_latencies.Observe(Observed(p, t, i));
        }
      } catch (...) {
        flags[kThreadFailures].fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  return flags[kThreadFailures].load() == 0 ? 0 : 21;
}

std::string Key(const MetricSnapshot& m) {
  std::string key = m.name;
  for (const auto& [k, v] : m.labels) key += "," + k + "=" + v;
  return key;
}

// Checks one snapshot against the previous one (by series): histogram counts
// equal their buckets' sum, and no counter or bucket went backwards.
void CheckSnapshot(const Snapshot& snap, std::map<std::string, MetricSnapshot>* previous) {
  EXPECT_TRUE(snap.problems.empty()) << snap.problems.front();
  for (const MetricSnapshot& m : snap.metrics) {
    auto before = previous->find(Key(m));
    if (m.type == MetricType::kCounter && before != previous->end()) {
      EXPECT_GE(m.counter, before->second.counter) << Key(m) << " went backwards";
    }
    if (m.type == MetricType::kHistogram) {
      uint64_t total = 0;
      for (uint64_t c : m.histogram.counts) total += c;
      EXPECT_EQ(m.histogram.count, total) << Key(m) << ": count is not the sum of its buckets";
      if (before != previous->end()) {
        EXPECT_GE(m.histogram.count, before->second.histogram.count) << Key(m);
        for (size_t i = 0; i < m.histogram.counts.size(); ++i) {
          EXPECT_GE(m.histogram.counts[i], before->second.histogram.counts.at(i))
              << Key(m) << " bucket " << i << " went backwards";
        }
      }
    }
    (*previous)[Key(m)] = m;
  }
}

// Expected bucket counts for every value every writer observed, by the documented
// rule: the first bucket whose bound is >= v, else +Inf.
std::vector<uint64_t> ExpectedCounts(const std::vector<double>& bounds) {
  std::vector<uint64_t> counts(bounds.size() + 1);
  for (int p = 0; p < kProcesses; ++p)
    for (int t = 0; t < kThreads; ++t)
      for (int i = 0; i < kIterations; ++i) {
        double v = Observed(p, t, i);
        size_t b = 0;
        while (b < bounds.size() && v > bounds[b]) ++b;
        ++counts[b];
      }
  return counts;
}

double ExpectedSum() {
  double sum = 0;
  for (int p = 0; p < kProcesses; ++p)
    for (int t = 0; t < kThreads; ++t)
      for (int i = 0; i < kIterations; ++i) sum += Observed(p, t, i);
  return sum;
}

class StressTest : public test::ProcessTest {
 protected:
  StressTest() : ProcessTest(64, 1 << 12) {}
};

TEST_F(StressTest, ConcurrentProducersAndReaderSeeExactConsistentTotals) {
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcesses; ++p)
    pids.push_back(children_.Fork([&, p] { return Producer(guard_.name(), flags_, p); }));
  ASSERT_TRUE(test::WaitUntil([&] { return flags_[kReady].load() == kProcesses; }, seconds(30)))
      << "producers did not open the segment";
  // Every thread of every process registers the same, still absent, series now.
  flags_[kGo].store(1);

  std::map<std::string, MetricSnapshot> previous;
  std::map<pid_t, int> statuses;
  uint64_t snapshots = 0;
  auto deadline = std::chrono::steady_clock::now() + seconds(120);
  while (statuses.size() < pids.size() && std::chrono::steady_clock::now() < deadline) {
    CheckSnapshot(segment_->Read(), &previous);
    flags_[kSnapshots].store(++snapshots);
    for (pid_t pid : pids) {
      if (statuses.count(pid)) continue;
      if (auto status = children_.TryWait(pid)) statuses[pid] = *status;
    }
  }
  ASSERT_EQ(statuses.size(), pids.size()) << "producers did not finish within 120 s";
  for (auto [pid, status] : statuses)
    EXPECT_TRUE(test::ExitedCleanly(status))
        << "producer " << pid << " " << test::DescribeStatus(status);
  RecordProperty("snapshots_during_run", snapshots);

  Snapshot final_snap = segment_->Read();
  CheckSnapshot(final_snap, &previous);
  // One shared slot per series: 4 counters, a gauge and three histograms, no more.
  ASSERT_EQ(final_snap.metrics.size(), kOps.size() + 5);
  EXPECT_EQ(segment_->Info().metrics_used, kOps.size() + 5);

  const uint64_t per_series = kWriters * kIterations;
  for (size_t k = 0; k < kOps.size(); ++k)
    EXPECT_EQ(previous.at("requests_total,op=" + kOps[k]).counter, per_series * (k + 1));
  EXPECT_EQ(previous.at("in_flight").gauge, static_cast<double>(per_series));
  EXPECT_EQ(previous.at("striped_requests_total").counter, per_series);
  for (const char* key :
       {"request_size,kind=explicit", "request_latency,kind=exp", "request_latency,kind=striped"}) {
    const HistogramValue& h = previous.at(key).histogram;
    EXPECT_EQ(h.count, per_series) << key;
    EXPECT_EQ(h.sum, ExpectedSum()) << key;
    EXPECT_EQ(h.counts, ExpectedCounts(h.bounds)) << key;
  }
  EXPECT_EQ(previous.at("request_latency,kind=exp").histogram.schema, 2);
}

}  // namespace
}  // namespace shmstats
