// SPDX-License-Identifier: Apache-2.0
// Producer records: made at a process's first registration, with its job and opt-out;
// kept (as exited) after it ends until a new producer needs the room; a full table
// never refuses a registration; series name their creator.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <optional>

#include "process_harness.h"
#include "shmstats/error.h"
#include "shmstats/segment.h"

namespace shmstats::test {
namespace {

using namespace std::chrono_literals;

MetricSpec Spec(std::string name) { return MetricSpec{std::move(name), {}, "", ""}; }

std::optional<ProducerInfo> Find(const Segment& s, uint32_t pid) {
  for (auto& p : s.Producers())
    if (p.pid == pid) return p;
  return std::nullopt;
}

class ProducersTest : public ProcessTest {
 protected:
  ProducersTest() : ProcessTest(64, 4096) {}

  // Forks a child that registers `series` counters under the given environment,
  // signals flag `ready`, then exits when flag `stop` is set (or at once if stop is 0).
  pid_t Producer(const std::string& name, const char* job, const char* metrics_env, int series,
                 size_t ready, size_t stop) {
    return children_.Fork([=, this] {
      if (job) setenv("SHMSTATS_JOB", job, 1);
      if (metrics_env) setenv("SHMSTATS_PROCESS_METRICS", metrics_env, 1);
      Segment s = Segment::Open(name);
      for (int i = 0; i < series; ++i)
        s.RegisterCounter(Spec("child_" + std::to_string(getpid()) + "_" + std::to_string(i)))
            .Inc();
      flags_[ready] = 1;
      if (stop) WaitUntil([&] { return flags_[stop].load() != 0; }, 30s);
      return 0;
    });
  }
};

TEST_F(ProducersTest, RecordMadeAtFirstRegistrationWithJobAndSeries) {
  EXPECT_TRUE(segment_->Producers().empty());  // opening leaves no record
  segment_->SetJob("before");
  segment_->RegisterCounter(Spec("a_total")).Inc();
  segment_->RegisterGauge(Spec("b"));
  auto me = Find(*segment_, static_cast<uint32_t>(getpid()));
  ASSERT_TRUE(me);
  EXPECT_TRUE(me->alive);
  EXPECT_EQ(me->job, "before");
  EXPECT_EQ(me->uid, getuid());
  EXPECT_EQ(me->series, 2u);
  EXPECT_TRUE(me->process_metrics);
  EXPECT_FALSE(me->command.empty());
  EXPECT_GT(me->attached_unix_ns, 0u);
  EXPECT_GT(me->start_ticks, 0u);
  // Changed after the first registration: the record follows.
  segment_->SetJob("after");
  segment_->SetProcessMetrics(false);
  me = Find(*segment_, static_cast<uint32_t>(getpid()));
  ASSERT_TRUE(me);
  EXPECT_EQ(me->job, "after");
  EXPECT_FALSE(me->process_metrics);
  EXPECT_EQ(segment_->Producers().size(), 1u);
  // The series name their creator.
  for (const auto& m : segment_->Read().metrics) EXPECT_EQ(m.producer, me->ref) << m.name;
  // Activity noted by the daemon.
  segment_->NoteProducerActivity({me->ref, 12345}, 42);
  EXPECT_EQ(Find(*segment_, static_cast<uint32_t>(getpid()))->last_activity_unix_ns, 42u);
  SegmentInfo info = segment_->Info();
  EXPECT_EQ(info.producers_used, 1u);
  EXPECT_EQ(info.producers_max, SegmentOptions{}.max_producers);
}

TEST_F(ProducersTest, BadJobIsRefused) {
  EXPECT_THROW(segment_->SetJob(std::string(57, 'j')), Error);
  EXPECT_THROW(segment_->SetJob("a\nb"), Error);
  segment_->SetJob(std::string(56, 'j'));
}

TEST_F(ProducersTest, EnvironmentJobOptOutAndExitedProducer) {
  pid_t child = Producer(guard_.name(), "nightly-batch", "off", 3, 0, 0);
  auto status = children_.Wait(child, 30s);
  ASSERT_TRUE(status && ExitedCleanly(*status));
  auto p = Find(*segment_, static_cast<uint32_t>(child));
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->alive);  // exited: its owner lock went with it
  EXPECT_EQ(p->job, "nightly-batch");
  EXPECT_FALSE(p->process_metrics);
  EXPECT_EQ(p->series, 3u);
}

TEST_F(ProducersTest, ForkedChildGetsItsOwnRecord) {
  segment_->RegisterCounter(Spec("parent_total"));
  pid_t child = children_.Fork([this] {
    segment_->RegisterCounter(Spec("forked_total"));
    return Find(*segment_, static_cast<uint32_t>(getpid())) ? 0 : 1;
  });
  auto status = children_.Wait(child, 30s);
  ASSERT_TRUE(status && ExitedCleanly(*status)) << DescribeStatus(status.value_or(-1));
  EXPECT_EQ(segment_->Producers().size(), 2u);
}

TEST_F(ProducersTest, FullTableNeverRefusesARegistrationAndReusesExitedRecords) {
  SegmentGuard small(UniqueSegmentName("small"));  // room for two records
  SegmentOptions o;
  o.max_metrics = 64;
  o.max_slots = 4096;
  o.max_producers = 2;
  segment_.emplace(Segment::Create(small.name(), o));
  const std::string& name = small.name();
  pid_t a = Producer(name, "a", nullptr, 1, 1, 10);
  pid_t b = Producer(name, "b", nullptr, 1, 2, 10);
  ASSERT_TRUE(WaitUntil([&] { return flags_[1] && flags_[2]; }, 30s));
  // The table is full of live producers: a third records, without a record.
  pid_t c = Producer(name, "c", nullptr, 1, 3, 0);
  auto status = children_.Wait(c, 30s);
  ASSERT_TRUE(status && ExitedCleanly(*status));
  EXPECT_EQ(segment_->Info().producers_refused, 1u);
  EXPECT_EQ(segment_->Producers().size(), 2u);
  EXPECT_FALSE(Find(*segment_, static_cast<uint32_t>(c)));
  // One exits: its record is shown as exited, then taken by the next producer.
  flags_[10] = 1;
  ASSERT_TRUE(children_.Wait(a, 30s));
  ASSERT_TRUE(children_.Wait(b, 30s));
  auto gone = Find(*segment_, static_cast<uint32_t>(a));
  ASSERT_TRUE(gone);
  EXPECT_FALSE(gone->alive);
  segment_->RegisterCounter(Spec("late_total"));
  EXPECT_EQ(segment_->Info().producers_reused, 1u);
  auto me = Find(*segment_, static_cast<uint32_t>(getpid()));
  ASSERT_TRUE(me);
  EXPECT_TRUE(me->alive);
  EXPECT_EQ(me->series, 1u);
  // The exited producer whose record was taken no longer claims its series.
  uint32_t owned = 0;
  for (const auto& p : segment_->Producers()) owned += p.series;
  EXPECT_EQ(owned, 2u);
}

}  // namespace
TEST_F(ProducersTest, FullTableGivesTheRecordOfTheProducerThatExitedLongestAgo) {
  SegmentGuard small(UniqueSegmentName("oldest"));  // room for two records
  SegmentOptions o;
  o.max_metrics = 64;
  o.max_slots = 4096;
  o.max_producers = 2;
  segment_.emplace(Segment::Create(small.name(), o));
  // One after the other, each exiting at once: a attached (and exited) first.
  pid_t a = Producer(small.name(), "a", nullptr, 1, 1, 0);
  ASSERT_TRUE(children_.Wait(a, 30s));
  pid_t b = Producer(small.name(), "b", nullptr, 1, 2, 0);
  ASSERT_TRUE(children_.Wait(b, 30s));
  segment_->RegisterCounter(Spec("late_total"));
  EXPECT_EQ(segment_->Info().producers_reused, 1u);
  EXPECT_FALSE(Find(*segment_, static_cast<uint32_t>(a)));
  ASSERT_TRUE(Find(*segment_, static_cast<uint32_t>(b)));
  EXPECT_TRUE(Find(*segment_, static_cast<uint32_t>(getpid())));
}

TEST_F(ProducersTest, ForgoneRecordLeavesTheTableUntouched) {
  const std::string name = segment_->name();
  pid_t child = children_.Fork([name] {
    Segment s = Segment::Open(name);
    s.ForgoProducerRecord();
    s.RegisterCounter(Spec("one_shot_total")).Inc();
    return 0;
  });
  auto status = children_.Wait(child, 30s);
  ASSERT_TRUE(status && ExitedCleanly(*status)) << DescribeStatus(status.value_or(-1));
  EXPECT_TRUE(segment_->Producers().empty());
  EXPECT_EQ(segment_->Info().producers_used, 0u);
  // The series exists all the same, with no producer to claim it.
  EXPECT_EQ(segment_->Read().metrics.size(), 1u);
}

}  // namespace shmstats::test
