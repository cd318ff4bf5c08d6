// SPDX-License-Identifier: Apache-2.0
// The one-type-per-family rule under a race: in each round, eight processes
// released at the same instant register series of one new family, half as
// counters and half as gauges, each with its own labels. Exactly one type must win:
// every process of that type succeeds, every process of the other gets
// kTypeMismatch, and readers see the family with one type and no problem.

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "process_harness.h"
#include "shmstats/shmstats.h"

namespace shmstats {
namespace {

using std::chrono::seconds;

constexpr int kRounds = 40;
constexpr int kRacers = 8;
enum RacerExit { kWon = 0, kMismatch = 3, kNotReleased = 4, kOtherError = 5 };

class FamilyRaceTest : public test::ProcessTest {
 protected:
  FamilyRaceTest() : ProcessTest(kRounds * kRacers + 16, 1 << 14) {}
};

TEST_F(FamilyRaceTest, ExactlyOneTypeWinsAFamily) {
  const std::string name = guard_.name();
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const std::string family = "race_" + std::to_string(round);
    flags_[0].store(0);
    flags_[1].store(0);
    std::map<pid_t, bool> is_counter;
    for (int r = 0; r < kRacers; ++r) {
      pid_t pid = children_.Fork([&, r] {
        Segment s = Segment::Open(name);
        flags_[1].fetch_add(1);
        if (!test::WaitUntil([&] { return flags_[0].load() != 0; }, seconds(30)))
          return int{kNotReleased};
        MetricSpec spec{family, {{"racer", std::to_string(r)}}, "", ""};
        try {
          if (r % 2 == 0)
            s.RegisterCounter(spec).Inc();
          else
            s.RegisterGauge(spec).Set(1);
        } catch (const Error& e) {
          return int{e.code() == Errc::kTypeMismatch ? kMismatch : kOtherError};
        }
        return int{kWon};
      });
      is_counter[pid] = r % 2 == 0;
    }
    ASSERT_TRUE(test::WaitUntil([&] { return flags_[1].load() == kRacers; }, seconds(30)));
    flags_[0].store(1);
    int counters_won = 0, gauges_won = 0, mismatches = 0;
    for (const auto& [pid, counter] : is_counter) {
      std::optional<int> status = children_.Wait(pid, seconds(30));
      ASSERT_TRUE(status && WIFEXITED(*status)) << test::DescribeStatus(status.value_or(-1));
      int code = WEXITSTATUS(*status);
      ASSERT_TRUE(code == kWon || code == kMismatch) << "racer exit " << code;
      if (code == kMismatch)
        ++mismatches;
      else
        (counter ? counters_won : gauges_won) += 1;
    }
    EXPECT_TRUE((counters_won == kRacers / 2 && gauges_won == 0) ||
                (gauges_won == kRacers / 2 && counters_won == 0))
        << counters_won << " counters and " << gauges_won << " gauges won";
    EXPECT_EQ(mismatches, kRacers / 2);
    Snapshot snap = segment_->Read();
    EXPECT_TRUE(snap.problems.empty()) << snap.problems.front();
    int series = 0;
    for (const MetricSnapshot& m : snap.metrics) series += m.name == family;
    EXPECT_EQ(series, kRacers / 2);
  }
}

}  // namespace
}  // namespace shmstats
