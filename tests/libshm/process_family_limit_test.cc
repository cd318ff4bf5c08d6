// SPDX-License-Identifier: Apache-2.0
// The cardinality guard across processes: two producers send 10,000 label sets
// into a family capped at 100 while a third registers series of its own families:
// the family holds exactly 100 series plus its overflow series, which together
// count every record made, and the third producer is never refused.

#include <gtest/gtest.h>

#include <string>

#include "process_harness.h"
#include "shmstats/shmstats.h"

namespace shmstats {
namespace {

using std::chrono::seconds;

class FamilyLimitProcessTest : public test::ProcessTest {
 protected:
  FamilyLimitProcessTest() : ProcessTest(4096, 1 << 16) {}
};

TEST_F(FamilyLimitProcessTest, CappedFamilyKeepsOneHundredSeriesAndCountsTheRest) {
  constexpr int kLabelSets = 10'000;
  constexpr int kOthers = 500;
  const std::string name = guard_.name();
  std::vector<pid_t> pids;
  for (int p = 0; p < 2; ++p) {  // half the label sets each, each recorded p + 1 times
    pids.push_back(children_.Fork([&, p] {
      Segment s = Segment::Open(name);
      MetricSpec spec{"runaway_total", {}, "capped", ""};
      spec.family_limit = 100;
      while (flags_[0].load() == 0) {
      }
      for (int i = p; i < kLabelSets; i += 2) {
        spec.labels = {{"id", std::to_string(i)}};
        s.RegisterCounter(spec).Inc(p + 1);
      }
      return 0;
    }));
  }
  pids.push_back(children_.Fork([&] {
    Segment s = Segment::Open(name);
    while (flags_[0].load() == 0) {
    }
    for (int i = 0; i < kOthers; ++i)
      s.RegisterCounter(
           {"other" + std::to_string(i % 5) + "_total", {{"n", std::to_string(i)}}, "", ""})
          .Inc();
    return 0;
  }));
  flags_[0].store(1);
  for (pid_t pid : pids) {
    auto status = children_.Wait(pid, seconds(120));
    ASSERT_TRUE(status && test::ExitedCleanly(*status)) << test::DescribeStatus(*status);
  }
  Snapshot snap = segment_->Read();
  ASSERT_TRUE(snap.problems.empty()) << snap.problems[0];
  uint64_t series = 0, overflow = 0, total = 0, others = 0;
  for (const MetricSnapshot& m : snap.metrics) {
    if (m.name != "runaway_total") {
      others += m.counter;
      continue;
    }
    total += m.counter;
    if (m.labels == Labels{{"otel_metric_overflow", "true"}})
      overflow = m.counter;
    else
      ++series;
  }
  EXPECT_EQ(series, 100u);
  EXPECT_EQ(total, uint64_t{kLabelSets / 2} * 1 + uint64_t{kLabelSets / 2} * 2);
  EXPECT_GT(overflow, 0u);
  EXPECT_EQ(others, uint64_t{kOthers});
  for (const FamilyInfo& f : segment_->Families()) {
    if (f.name != "runaway_total") continue;
    EXPECT_EQ(f.series, 101u);
    EXPECT_EQ(f.limit, 100u);
    EXPECT_EQ(f.overflowed, uint64_t{kLabelSets - 100});
  }
  EXPECT_EQ(segment_->Info().registrations_refused, 0u);
}

}  // namespace
}  // namespace shmstats
